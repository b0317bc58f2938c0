"""Answers of the asked type (rag.answertype): the question's expected type, the span's type, and
the extractive answerer that never bolds a span of another type, on the shipped articles."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.answer.factoid import ExtractiveAnswerer
from rag.answertype import (
    DATE,
    DEFINITION,
    LIST_TYPE,
    NONE,
    NUMBER,
    ORGANIZATION,
    PERSON,
    PLACE,
    REASON,
    STRONG,
    TITLE,
    WEAK,
    YES_NO_TYPE,
    agreement,
    expected_type,
)
from rag.chunking import chunk_article
from rag.documents import load_document
from rag.question import unit_head
from rag.reader import Read
from rag.spans import in_quotes, quoted_ranges, unit_fit
from rag.text import fold
from rag.types import Hit

SEED = Path(__file__).resolve().parent.parent / "corpus"
KINHTEDOTHI = "000_cc43d066e58669a5.txt"
DOANH_NGHIEP = "001_de17a9f0785143ac.txt"
HA_NOI = "003_45ec861fa7425e3b.txt"
SLOGAN = "“Kỷ cương, trách nhiệm, hành động, sáng tạo và phát triển”"


@pytest.fixture(scope="module")
def passages() -> dict[str, list]:
    return {p.name: chunk_article(load_document(p, SEED)) for p in sorted(SEED.glob("*.txt"))}


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Ai chủ trì Hội nghị sơ kết Chương trình số 06-Ctr/ĐUK?", PERSON),
        ("Phó Bí thư Thường trực Thành ủy là ai?", PERSON),
        ("Cơ quan nào ban hành Kế hoạch số 51-KH/ĐUK?", ORGANIZATION),
        ("Ông Lê Minh Đức giữ chức vụ gì?", TITLE),
        ("Kế hoạch được triển khai tới bao nhiêu chi bộ?", NUMBER),
        ("Hội nghị kiểm điểm diễn ra khi nào?", DATE),
        ("Hội nghị sơ kết được tổ chức ở đâu?", PLACE),
        ("Vì sao cần nâng cao chất lượng sinh hoạt chi bộ?", REASON),
        ("Đảng bộ Khối hợp nhất năm 2020, phải không?", YES_NO_TYPE),
        ("Những hạn chế nào được nêu ra?", LIST_TYPE),
        ("Chương trình số 06-Ctr/ĐUK là gì?", DEFINITION),
    ],
)
def test_expected_type_with_and_without_diacritics(question, expected):
    assert expected_type(question) == expected
    assert expected_type(fold(question)) == expected


@pytest.mark.parametrize(
    ("expected", "span", "level"),
    [
        (PERSON, "Lê Minh Đức", STRONG),
        (PERSON, "Phó Bí thư Thường trực Thành ủy Nguyễn Thị Tuyến", STRONG),
        (PERSON, SLOGAN, NONE),  # a slogan is no one's name
        (PERSON, "Kỷ cương, trách nhiệm, hành động", NONE),
        (PERSON, "Ban Thường vụ Đảng ủy Khối", WEAK),  # an organ may act, but a name is better
        (PERSON, "Đảng ủy Khối và triển khai nhiệm vụ trọng tâm năm 2023", NONE),  # a clause
        (PERSON, "594", NONE),
        (TITLE, "Trưởng Ban chỉ đạo Chương trình số 06-Ctr/ĐUK", STRONG),
        (TITLE, "Trưởng Ban chỉ đạo Chương trình số 06-Ctr/ĐUK phát biểu", NONE),
        (NUMBER, "594", STRONG),
        (NUMBER, "Lê Minh Đức", NONE),
        (DATE, "17/2", STRONG),
        (DATE, "594 chi bộ", NONE),
        (DEFINITION, SLOGAN, STRONG),
    ],
)
def test_span_agrees_with_the_asked_type(expected, span, level):
    assert agreement(expected, span) == level


class PlantedReader:
    """A reader whose spans, best first, are `wanted` (found in the passage as written): the
    first one `avoid` does not refuse is read, as `rag.reader.Reader.read` does."""

    def __init__(self, *wanted: str):
        self.wanted = wanted

    def read(self, question, passages, avoid=None):
        found = []
        for passage in passages:
            read = None
            for rank, text in enumerate(self.wanted):
                at = passage.find(text)
                if at >= 0 and (avoid is None or not avoid(text)):
                    read = Read(at, at + len(text), 0.9, 5.0 - rank)
                    break
            found.append(read)
        return found


def _hits(passages, name: str) -> list[Hit]:
    return [Hit(c, 1.0, rank) for rank, c in enumerate(passages[name], 1)]


@pytest.mark.parametrize("typed", [True, False], ids=["diacritics", "folded"])
def test_a_slogan_is_never_bolded_as_a_name(passages, typed):
    """The planted type mismatch: the reader's best span for a who-question is the year's
    slogan, in the passage that also names who attended. It is passed over for the name
    (without the type check the slogan was the short answer)."""
    question = "Ai dự và chỉ đạo hội nghị kiểm điểm tập thể Ban Thường vụ Đảng ủy?"
    question = question if typed else fold(question)
    first = [Hit(passages[HA_NOI][0], 1.0, 1)]  # "Sáng 25/12 … Nguyễn Thị Tuyến … “Kỷ cương …”"
    reader = PlantedReader(SLOGAN, "Nguyễn Thị Tuyến")
    answer = ExtractiveAnswerer(reader=reader).answer(question, first)
    assert answer.short_answer == "Nguyễn Thị Tuyến"
    assert answer.text == (
        "Nguyễn Thị Tuyến [1] — Đồng chí Nguyễn Thị Tuyến, Ủy viên Trung ương Đảng, "
        "Phó Bí thư Thường trực Thành ủy dự và chỉ đạo hội nghị."
    )
    assert answer.citations[0].span is not None


@pytest.mark.parametrize("typed", [True, False], ids=["diacritics", "folded"])
def test_no_name_offered_means_no_slogan_bolded(passages, typed):
    """Only the slogan is offered by the reader: the answer is of the asked type (a name the
    rules find in the evidence), never the slogan (which it was without the type check)."""
    question = "Ai đặt ra Chủ đề công tác năm 2021 của Thành phố?"
    question = question if typed else fold(question)
    answer = ExtractiveAnswerer(reader=PlantedReader(SLOGAN)).answer(
        question, _hits(passages, HA_NOI)
    )
    assert answer.short_answer == "Nguyễn Thị Tuyến"
    assert agreement(PERSON, answer.short_answer) == STRONG


def test_a_count_answers_only_with_the_unit_it_counts(passages):
    """'bao nhiêu đảng viên' is one word of two syllables: '159 đảng bộ' does not count it
    (before, the first syllable alone made it fit), 'gần 10 nghìn đảng viên' does."""
    sentence = next(
        s
        for c in passages[DOANH_NGHIEP]
        for s in [c.text[c.text.find("Hoạt động theo mô hình") :]]
        if "159 đảng bộ" in s
    )
    question = "Đảng bộ Khối có tổng cộng bao nhiêu đảng viên?"
    assert unit_head(question) == 2
    assert unit_head(fold(question)) == 1  # unsegmented: the first syllable and the next
    unit = ["dang", "vien"]
    at = sentence.find("159")
    assert unit_fit(sentence, (at, at + 3), unit, unit_head(question)) == 0
    at = sentence.find("10 nghìn")
    assert unit_fit(sentence, (at, at + len("10 nghìn")), unit, unit_head(question)) == 2
    # "bao nhiêu người tham dự": the unit is the one-syllable word "người".
    assert unit_head("Có bao nhiêu người tham dự hội nghị?") == 1


def test_a_name_inside_a_quoted_title_is_not_who_did_it(passages):
    """The plan's title quotes "… phong cách Hồ Chí Minh …": the name in it issued nothing. Both
    the reader's span and the span rules gave it as the answer to "ai ban hành" before (with
    the reader and without); now neither may bold it."""
    chunk = next(c for c in passages[KINHTEDOTHI] if "Kế hoạch số 51-KH/ĐUK" in c.text)
    question = "Kế hoạch số 51-KH/ĐUK do ai ban hành?"
    for reader in (PlantedReader("Hồ Chí Minh"), None):
        answer = ExtractiveAnswerer(reader=reader).answer(question, [Hit(chunk, 1.0, 1)])
        # The organ that issued it, shortened: the span rules drop "Ban Thường vụ" as a title.
        assert answer.short_answer == "Đảng ủy Khối"
        assert answer.text.startswith(
            "Đảng ủy Khối [1] — … Ban Thường vụ Đảng ủy Khối ban hành Đề án số 08-ĐA/ĐUK về"
        )


def test_in_quotes():
    text = "Ban Thường vụ ban hành Kế hoạch về “học tập và làm theo tư tưởng Hồ Chí Minh” năm 2022."
    at = text.find("Hồ Chí Minh")
    assert in_quotes(text, at, at + len("Hồ Chí Minh"))
    assert not in_quotes(text, 0, len("Ban Thường vụ"))
    assert quoted_ranges('Khẩu hiệu "Kỷ cương" và «Đổi mới»') == [(10, 20), (24, 33)]
