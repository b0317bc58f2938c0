"""The extractive answerer on real sentences of the shipped articles: the short answer first and
its extent, list splitting, several answers from several documents, yes/no, abstention."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.answer import ABSTAIN_TEXT
from rag.chunking import Chunk
from rag.extractive import ExtractiveAnswerer, _enumeration, person_names
from rag.retrieval import Hit
from rag.text import split_sentences

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
KINHTEDOTHI = "000_cc43d066e58669a5.txt"
THANH_HOA = "001_de17a9f0785143ac.txt"
QUANG_NGAI = "002_4b3c1fe148501639.txt"
DIEN_BIEN = "004_aa61c7b126e7bd72.txt"


def passage(doc_id: str, starts_with: str, rank: int = 1, outlet: str | None = None) -> Hit:
    """A hit on the paragraph of `doc_id` that holds the sentence starting with `starts_with`."""
    text = (CORPUS / doc_id).read_text("utf-8")
    at = text.index(starts_with)
    start = text.rfind("\n", 0, at) + 1
    end = text.find("\n", at)
    end = len(text) if end < 0 else end
    chunk = Chunk(
        chunk_id=f"{doc_id}#{start}",
        doc_id=doc_id,
        index=0,
        text=text[start:end],
        start=start,
        end=end,
        title=text.split("\n", 1)[0],
        outlet=outlet,
    )
    return Hit(chunk, 1.0 / rank, rank)


@pytest.fixture(scope="module")
def answerer():
    return ExtractiveAnswerer()


def test_number_with_its_unit_first(answerer):
    hit = passage(KINHTEDOTHI, "Cụ thể, Ban Thường vụ Đảng ủy Khối ban hành Đề án số 08")
    answer = answerer.answer("Kế hoạch số 51-KH/ĐUK được triển khai tới bao nhiêu chi bộ?", [hit])
    assert answer.short_answer == "594"
    assert answer.text.startswith("594 [1] — ") and "594 chi bộ" in answer.text
    assert len(answer.text.split()) <= 30
    citation = answer.citations[0]
    text = (CORPUS / KINHTEDOTHI).read_text("utf-8")
    assert text[citation.span[0] : citation.span[1]] == "594"
    assert text[citation.start : citation.end] == citation.quote


def test_enumeration_split_at_semicolons():
    sentence = next(
        s
        for s in (
            (CORPUS / THANH_HOA).read_text("utf-8")[a:b]
            for a, b in split_sentences((CORPUS / THANH_HOA).read_text("utf-8"))
        )
        if "3 nghị quyết chuyên đề gồm" in s
    )
    at = sentence.index("Nghị quyết về tăng")
    items = [sentence[a:b] for a, b in _enumeration(sentence, (at, at + 10))]
    assert items == [
        "Nghị quyết về tăng cường công tác chính trị tư tưởng trong tình hình mới",
        "Nghị quyết về nâng cao năng lực lãnh đạo, sức chiến đấu của tổ chức cơ sở đảng "
        "và chất lượng đảng viên",
        "Nghị quyết về lĩnh vực xây dựng văn hóa trong cơ quan, doanh nghiệp",
    ]


def test_a_clause_after_a_colon_is_not_a_list():
    sentence = (
        "Ông Lỳ Lỳ Xá, Bí thư Đảng ủy Khối Cơ quan và Doanh nghiệp tỉnh cho biết: Trong thời "
        "gian qua, các cấp ủy, chi bộ, đảng bộ trực thuộc đã thực hiện tốt chế độ sinh hoạt "
        "thường kỳ theo quy định của Điều lệ Đảng."
    )
    at = sentence.index("các cấp ủy")
    assert _enumeration(sentence, (at, at + 10)) == []


def test_list_question_gets_cited_bullets(answerer):
    hit = passage(THANH_HOA, "Xuất phát từ tình hình thực tế")
    answer = answerer.answer("Đảng ủy Khối sẽ ban hành những nghị quyết chuyên đề nào?", [hit])
    assert answer.short_answer is None
    assert answer.text.splitlines() == [
        "- Nghị quyết về tăng cường công tác chính trị tư tưởng trong tình hình mới [1]",
        "- Nghị quyết về nâng cao năng lực lãnh đạo, sức chiến đấu của tổ chức cơ sở đảng "
        "và chất lượng đảng viên [2]",
        "- Nghị quyết về lĩnh vực xây dựng văn hóa trong cơ quan, doanh nghiệp [3]",
    ]
    assert [c.n for c in answer.citations] == [1, 2, 3]


def test_different_answers_in_different_documents_are_each_listed(answerer):
    hits = [
        passage(KINHTEDOTHI, "Bí thư Đảng uỷ Khối các cơ quan TP Hà Nội Lê Minh Đức, Trưởng", 1),
        passage(QUANG_NGAI, "Ông Bùi Võ Quảng - Bí thư Đảng ủy Khối các cơ quan tỉnh khẳng", 2),
        passage(DIEN_BIEN, "Ông Lỳ Lỳ Xá, Bí thư Đảng ủy Khối", 3),
    ]
    answer = answerer.answer("Ai là Bí thư Đảng ủy Khối?", hits)
    lines = answer.text.splitlines()
    assert lines[0] == "Các tài liệu nêu khác nhau:"
    names = [c.quote[c.span[0] - c.start : c.span[1] - c.start] for c in answer.citations]
    assert sorted(names) == ["Bùi Võ Quảng", "Lê Minh Đức", "Lỳ Lỳ Xá"]
    assert {c.doc_id for c in answer.citations} == {KINHTEDOTHI, QUANG_NGAI, DIEN_BIEN}
    assert all(line.startswith("- Theo «") for line in lines[1:])


def test_unrelated_passage_abstains(answerer):
    hit = passage(DIEN_BIEN, "Ông Lỳ Lỳ Xá, Bí thư Đảng ủy Khối")
    answer = answerer.answer("Giá vàng SJC hôm nay là bao nhiêu?", [hit])
    assert answer.abstained and answer.text == ABSTAIN_TEXT and answer.short_answer is None


def test_person_names_skip_the_ones_the_question_says():
    sentence = (
        "Đồng chí Nguyễn Thị Tuyến, Ủy viên Trung ương Đảng, Phó Bí thư Thường trực Thành ủy "
        "dự và chỉ đạo hội nghị."
    )
    assert person_names(sentence)[0] == "Nguyễn Thị Tuyến"
    assert "Nguyễn Thị Tuyến" not in person_names(sentence, "Nguyễn Thị Tuyến là ai?")


@pytest.mark.parametrize(
    "question",
    [
        "Đảng ủy Khối có ban hành nghị quyết về xây dựng văn hóa trong cơ quan, doanh nghiệp không?",
        "Dang uy Khoi co ban hanh nghi quyet ve xay dung van hoa trong co quan, doanh nghiep khong?",
    ],
)
def test_yes_with_its_evidence(answerer, question):
    answer = answerer.answer(question, [passage(THANH_HOA, "Xuất phát từ tình hình thực tế")])
    assert answer.short_answer == "Có"
    assert answer.text == (
        "Có [1] — Xuất phát từ tình hình thực tế, trong nhiệm kỳ này Đảng ủy Khối sẽ ban hành "
        "3 nghị quyết chuyên đề gồm: Nghị quyết về …"
    )


def test_no_when_the_evidence_says_not_yet(answerer):
    hit = passage(KINHTEDOTHI, "Bên cạnh những kết quả đạt được, Ban chỉ đạo")
    answer = answerer.answer(
        "Việc giải quyết những vấn đề phát sinh tại các tổ chức đảng đã kịp thời chưa?", [hit]
    )
    assert answer.short_answer == "Không"
    assert answer.text.startswith("Không [1] — ")
    assert "chưa kịp thời, chưa quyết liệt" in answer.citations[0].quote
