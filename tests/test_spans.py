"""Typed answering spans (rag.spans) on real Vietnamese sentences: numbers written in words or
with a multiplier, the unit a number counts, centuries and decades, "khi nào" answered by a
condition, and what the question itself says."""

from __future__ import annotations

import pytest

from rag.answer.factoid import ExtractiveAnswerer
from rag.question import asked_unit
from rag.spans import person_spans, proper_runs, typed_spans, unit_fit
from rag.text import fold
from rag.types import Chunk, Hit


def texts(kind: str, sentence: str, question: str) -> list[str]:
    return [sentence[a:b] for a, b in typed_spans(kind, sentence, question)]


def hit(text: str) -> Hit:
    chunk = Chunk("a#0", "a.md", 0, text, 0, len(text), "Bài viết")
    return Hit(chunk, 1.0, 1)


def test_a_number_word_inside_a_word_of_the_question_is_still_an_answer():
    # "ba" (three) is a substring of "bao nhiêu": only whole words the question says are left out.
    sentence = "Đội tuyển đã thắng ba trận liên tiếp ở vòng loại."
    assert texts("number", sentence, "Đội tuyển đã thắng bao nhiêu trận ở vòng loại?") == ["ba"]


def test_a_number_the_question_says_is_left_out():
    sentence = "Trong 12 tỉnh tham gia có 3 tỉnh miền núi."
    assert texts("number", sentence, "Trong 12 tỉnh tham gia có bao nhiêu tỉnh miền núi?") == ["3"]


def test_a_number_with_its_multiplier_is_one_span_and_counts_the_unit_after_it():
    sentence = "Thành phố có khoảng 1,5 triệu dân và 30 nghìn doanh nghiệp."
    found = texts("number", sentence, "Thành phố có bao nhiêu doanh nghiệp?")
    assert found == ["30 nghìn", "1,5 triệu"]


def test_the_unit_may_stand_a_few_words_before_the_number():
    sentence = "Nhà văn đoạt giải Cánh diều bốn lần và được dịch ra mười thứ tiếng."
    unit = asked_unit("Nhà văn đã đoạt bao nhiêu giải Cánh diều?")
    assert unit == ["giai", "canh", "dieu"]
    at = sentence.index("bốn")
    assert unit_fit(sentence, (at, at + 3), unit) == 1
    at = sentence.index("mười")
    assert unit_fit(sentence, (at, at + 4), unit) == 0


def test_a_count_written_in_words_is_answered_not_abstained():
    sentence = "Nhà văn đoạt giải Cánh diều bốn lần và được dịch ra nhiều thứ tiếng."
    answer = ExtractiveAnswerer().answer(
        "Nhà văn đã đoạt bao nhiêu giải Cánh diều?", [hit(sentence)]
    )
    assert not answer.abstained
    assert answer.short_answer == "bốn"


def test_a_number_of_another_unit_still_abstains():
    sentence = "Hội nghị đề ra 7 nội dung và 32 nhiệm vụ cụ thể cho năm tới."
    answer = ExtractiveAnswerer().answer("Hội nghị có bao nhiêu đại biểu tham dự?", [hit(sentence)])
    assert answer.abstained


def test_a_rank_question_counts_no_unit():
    assert asked_unit("Hà Nội đứng thứ mấy về dân số?") == []
    assert asked_unit("Ha Noi dung thu bao nhieu ve dan so?") == []
    assert asked_unit("Có bao nhiêu chi bộ trực thuộc?") == ["chi", "bo", "truc"]


def test_centuries_and_decades_are_dates():
    sentence = "Chùa được xây dựng vào giữa thế kỷ XVII và trùng tu trong thập niên 1990."
    assert texts("date", sentence, "Chùa được xây dựng khi nào?") == [
        "giữa thế kỷ XVII",
        "thập niên 1990",
    ]


def test_khi_nao_is_answered_by_a_condition_but_nam_nao_is_not():
    sentence = "Bệnh thường bùng phát khi nhiệt độ và độ ẩm tăng cao, nhất là vào năm 2019."
    assert texts("date", sentence, "Bệnh thường bùng phát khi nào?") == [
        "khi nhiệt độ và độ ẩm tăng cao",
        "năm 2019",
    ]
    assert texts("date", sentence, "Bệnh bùng phát mạnh nhất vào năm nào?") == ["năm 2019"]
    assert texts("date", sentence, "Benh thuong bung phat khi nao?") == [
        "khi nhiệt độ và độ ẩm tăng cao",
        "năm 2019",
    ]


def test_a_year_the_question_names_may_stand_anywhere_in_the_passage():
    passage = (
        "Năm 2019, tỉnh triển khai chương trình xây dựng nông thôn mới trên toàn bộ các huyện "
        "vùng cao, với sự tham gia của nhiều sở, ngành, đoàn thể và hàng nghìn hộ gia đình ở các "
        "thôn bản xa xôi, nơi điều kiện đi lại còn rất khó khăn và thu nhập còn thấp. "
        "Các huyện đã huy động thêm nguồn lực từ doanh nghiệp và người dân để làm đường, "
        "xây trường học, trạm y tế và nhà văn hóa thôn trong suốt cả năm. "
        "Kết quả, toàn tỉnh có 12 xã đạt chuẩn nông thôn mới."
    )
    question = "Năm 2019 tỉnh có bao nhiêu xã đạt chuẩn nông thôn mới?"
    assert passage.index("12 xã") - passage.index("2019") > 300
    answer = ExtractiveAnswerer().answer(question, [hit(passage)])
    assert not answer.abstained
    assert answer.short_answer == "12"
    # A year the passage never says is still not answered from it.
    other = ExtractiveAnswerer().answer(question.replace("2019", "2021"), [hit(passage)])
    assert other.abstained


def test_a_question_asking_for_money_or_time_takes_a_number_of_money_or_time():
    sentence = "Theo kế hoạch, công ty nhận 5 triệu đô la tiền mặt và 30 nhân viên sau 17 giây."
    assert texts("number", sentence, "Công ty nhận được bao nhiêu tiền theo kế hoạch?") == [
        "5 triệu",
        "30",
        "17",
    ]
    assert texts("number", sentence, "Còn lại bao nhiêu thời gian?")[0] == "17"
    answer = ExtractiveAnswerer().answer(
        "Kinh phí của dự án là bao nhiêu?",
        [hit("Dự án có kinh phí 120 tỷ đồng, do 3 đơn vị cùng thực hiện.")],
    )
    assert answer.short_answer == "120 tỷ"


def test_when_without_a_grain_prefers_the_day_of_the_event():
    """ "… diễn ra khi nào?" asks when the meeting took place: "17/2", not the year of the
    tasks the sentence also names (before: "năm 2023"); "năm nào" still wants the year."""
    sentence = (
        "Kinhtedothi-Sáng 17/2, Ban Chỉ đạo Chương trình số 06-Ctr/ĐUK (khoá XIII) của Đảng uỷ "
        "Khối các cơ quan TP Hà Nội đã tổ chức Hội nghị sơ kết 2 năm thực hiện Chương trình số "
        "06-Ctr/ĐUK của Đảng ủy Khối và triển khai nhiệm vụ trọng tâm năm 2023."
    )
    when = "Hội nghị sơ kết 2 năm thực hiện Chương trình số 06-Ctr/ĐUK diễn ra khi nào?"
    for question in (when, fold(when)):
        assert [sentence[a:b] for a, b in typed_spans("date", sentence, question)] == [
            "17/2",
            "năm 2023",
        ]
    year = "Hội nghị sơ kết diễn ra năm nào?"
    assert [sentence[a:b] for a, b in typed_spans("date", sentence, year)][0] == "năm 2023"


@pytest.mark.parametrize(
    ("sentence", "names"),
    [
        # An initial's period is not a name's end (the answer was "William E").
        ("Người quản lý đầu tiên là William E. Simon, nhậm chức năm 1973.", ["William E. Simon"]),
        # Particles inside foreign names (the answer was "Zakarīya Rāzi").
        ("Muhammad ibn Zakarīya Rāzi là người có ảnh hưởng.", ["Muhammad ibn Zakarīya Rāzi"]),
        ("Louis-Joseph de Montcalm chỉ huy quân Pháp.", ["Louis-Joseph de Montcalm"]),
        ("Abu al-Qasim al-Zahrawi viết Liber servitoris.", ["Abu al-Qasim al-Zahrawi"]),
        # A Vietnamese name, and a sentence-final capital with its period, are as before.
        ("Đồng chí Vũ Hữu Thi, Bí thư Đảng ủy Khối cho biết.", ["Vũ Hữu Thi"]),
        ("Ông gặp Lê Văn A.", ["Lê Văn A"]),
    ],
)
def test_names_with_initials_and_particles(sentence, names):
    assert [sentence[a:b] for a, b in person_spans(sentence)] == names


def test_without_marks_a_vietnamese_syllable_is_no_particle():
    """Typed without diacritics, "la" is "là": "Ai la Bi thu" holds no name."""
    text = "Ai la Bi thu Thanh uy Ha Noi?"
    assert [text[a:b] for a, b in proper_runs(text)] == ["Ha Noi"]
    marked = "Tác phẩm của Leonardo da Vinci."
    assert [marked[a:b] for a, b in proper_runs(marked)] == ["Leonardo da Vinci"]
