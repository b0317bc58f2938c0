"""The question parsed once (rag.answer.question) and the one evidence step (rag.answer.evidence):
what real questions of the seed set ask, with and without diacritics, and the factoid answerer
reading one parsed question for a whole answer."""

from __future__ import annotations

import pytest

from rag.answer import question as parsed
from rag.answer.evidence import gather
from rag.answer.factoid import ExtractiveAnswerer
from rag.answer.question import Question
from rag.text import fold
from rag.types import Chunk, Hit

YEAR = r"(?:1[5-9]|20)\d{2}"


def fields(q: Question) -> dict:
    return {
        "kind": q.kind,
        "expected": q.expected,
        "shape": q.shape,
        "unit": q.unit,
        "head": q.head,
        "role": q.role,
        "grain": q.grain.pattern if q.grain else None,
        "entities": q.entities,
        "numbers": q.numbers,
        "dates": q.dates,
    }


NONE = {
    "kind": None,
    "shape": None,
    "unit": (),
    "head": 1,
    "role": None,
    "grain": None,
    "entities": (),
    "numbers": (),
    "dates": (),
}


@pytest.mark.parametrize(
    ("question", "marked", "folded"),
    [
        (
            "Năm 2020, Đảng bộ Khối các Cơ quan và Doanh nghiệp tỉnh đã kết nạp bao nhiêu đảng viên?",
            {
                "kind": "number",
                "expected": "number",
                "unit": ("dang", "vien"),
                "head": 2,
                "dates": ("Năm 2020",),
            },
            # Unsegmented without marks: the unit's first word is one syllable; a bare year.
            {"head": 1, "dates": ("2020",)},
        ),
        (
            "Hội nghị kiểm điểm ngày 25/12 có bao nhiêu đại biểu tham dự?",
            {
                "kind": "number",
                "expected": "number",
                "unit": ("dai", "bieu", "tham"),
                "head": 2,
                "dates": ("ngày 25/12",),
            },
            {"head": 1, "dates": ("25/12",)},
        ),
        (
            "Trong 2 năm, cấp ủy các tổ chức cơ sở Đảng khối chính quyền đã tham mưu cho TP ban "
            "hành bao nhiêu văn bản QPPL?",
            {
                "kind": "number",
                "expected": "number",
                "unit": ("van", "ban", "qppl"),
                "head": 2,
                "numbers": ("2",),
            },
            {"head": 1},
        ),
        (
            "Ai là Bí thư Thành ủy Hà Nội?",
            {
                "kind": "person",
                "expected": "person",
                "role": ("bi", "thu", "thanh", "uy"),
                "entities": ("Hà Nội",),
            },
            # 'Ai là <office>?' is read on the marked words only.
            {"role": None, "entities": ("Ha Noi",)},
        ),
        (
            "Ông Bùi Võ Quảng sinh năm nào?",
            {"kind": "date", "expected": "date", "grain": YEAR, "entities": ("Bùi Võ Quảng",)},
            {"grain": None, "entities": ("Bui Vo Quang",)},
        ),
        (
            "Vì sao doanh nghiệp tăng trưởng chậm?",
            {"expected": "reason", "shape": "why"},
            {},
        ),
    ],
)
def test_a_question_is_parsed_into_what_it_asks(question, marked, folded):
    want = {**NONE, **marked}
    assert fields(Question.parse(question)) == want
    assert fields(Question.parse(fold(question))) == {**want, **folded}
    assert Question.parse(question) is Question.parse(question)  # parsed once, then kept


def hit(text: str, rank: int) -> Hit:
    chunk = Chunk(f"{rank}.md#0", f"{rank}.md", 0, text, 0, len(text), f"Bài {rank}")
    return Hit(chunk, 1.0 / rank, rank)


PASSAGES = [
    "Thành phố có khoảng 1,5 triệu dân và 30 nghìn doanh nghiệp. Năm 2020 có 12 dự án mới.",
    "Các doanh nghiệp của thành phố đóng góp 40% thu ngân sách. Có 7 khu công nghiệp.",
]


def test_the_evidence_step_scores_every_sentence_once_with_its_typed_spans():
    q = Question.parse("Thành phố có bao nhiêu doanh nghiệp?")
    evidence = gather(q, [hit(p, n) for n, p in enumerate(PASSAGES, 1)])
    assert [c.sentence.text for c in evidence.candidates] == [
        "Thành phố có khoảng 1,5 triệu dân và 30 nghìn doanh nghiệp.",
        "Năm 2020 có 12 dự án mới.",
        "Các doanh nghiệp của thành phố đóng góp 40% thu ngân sách.",
        "Có 7 khu công nghiệp.",
    ]
    best = evidence.ranked[0]
    # Only a number of the unit counted is a typed span: not "1,5 triệu" (people).
    assert [best.sentence.text[a:b] for a, b in best.spans] == ["30 nghìn"]
    assert [c.spans for c in evidence.candidates[1:]] == [(), (), ()]


def test_the_factoid_answerer_parses_the_question_once(monkeypatch):
    calls = []
    read = parsed._parse.__wrapped__  # the parse itself, without its cache

    def counted(text: str) -> Question:
        calls.append(text)
        return read(text)

    monkeypatch.setattr(parsed, "_parse", counted)
    question = "Thành phố có bao nhiêu doanh nghiệp?"
    answer = ExtractiveAnswerer().answer(question, [hit(p, n) for n, p in enumerate(PASSAGES, 1)])
    assert answer.short_answer == "30 nghìn"
    assert calls == [question]
