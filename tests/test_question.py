"""What a question asks for, with and without diacritics (rag/question.py)."""

from __future__ import annotations

import pytest

from rag.question import analyse, asked_role, asked_unit, date_grain, question_kind
from rag.text import fold


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Kế hoạch số 51-KH/ĐUK được triển khai tới bao nhiêu chi bộ?", "number"),
        ("Có mấy lớp trung cấp chính trị?", "number"),
        ("Ai là Trưởng Ban chỉ đạo Chương trình số 06-Ctr/ĐUK?", "person"),
        ("Hội nghị kiểm điểm diễn ra khi nào?", "date"),
        ("Đảng bộ Khối hoạt động theo mô hình hợp nhất từ năm nào?", "date"),
        ("Hội nghị sơ kết được tổ chức ở đâu?", "place"),
        ("Vì sao phải đổi mới công tác xây dựng Đảng?", "reason"),
        ("Tại sao Đảng ủy Khối chọn những vấn đề trọng tâm?", "reason"),
        ("Đảng ủy Khối nâng cao chất lượng đảng viên như thế nào?", "manner"),
        ("Chi bộ được củng cố bằng cách nào?", "manner"),
        ("Chương trình gồm những nội dung gì?", "list"),
        ("Những đồng chí nào dự hội nghị?", "list"),
        ("Hội nghị có bàn về kinh tế không?", "yesno"),
        ("Đồng chí Lê Minh Đức là Bí thư, phải không?", "yesno"),
        ("Chương trình số 06-Ctr/ĐUK là gì?", "what"),
        ("Tóm tắt bài viết", None),
    ],
)
def test_kind_with_and_without_diacritics(question, kind):
    assert question_kind(question) == kind
    assert question_kind(fold(question)) == kind


def test_a_count_is_not_a_yes_no_question():
    assert question_kind("Có bao nhiêu đảng viên không?") == "number"


def test_unit_grain_and_role():
    assert asked_unit("Kế hoạch được triển khai tới bao nhiêu chi bộ?") == ["chi", "bo"]
    assert asked_unit("Giá trị tăng bao nhiêu so với năm trước?") == []
    assert date_grain("Đại hội diễn ra năm nào?").search("năm 2020")
    assert date_grain("Đại hội diễn ra khi nào?") is None
    assert asked_role("Ai là Bí thư Đảng ủy Khối?") == ["bi", "thu", "dang", "uy"]
    assert asked_role("Ai la Bi thu Dang uy Khoi?") == ["bi", "thu", "dang", "uy"]
    assert asked_role("Ai là người phát biểu?") is None
    asked = analyse("Tu nam 2017 da to chuc bao nhieu lop trung cap chinh tri?")
    assert (asked.kind, asked.folded, asked.unit) == ("number", True, ("lop", "trung", "cap"))
