"""The question, parsed once: every answerer reads this one object, none parses the text again.

In: a question as typed (with or without diacritics). Out: a frozen `Question`: its folded
form and content terms, what it asks (kind, expected answer type, shape, the wh-word's kind and
slot), the unit a count asks about, the office a 'who' asks after, the grain a date asks for,
and the entities, numbers and dates it names. The rules stay where they are (rag.question,
rag.answertype, rag.phrases, rag.spans); this module only calls them, once per question.
Never looks at documents: only the question's words decide.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from rag import phrases
from rag.answertype import expected_type
from rag.question import asked_role, asked_unit, date_grain, question_kind, terms, unit_head
from rag.spans import date_spans, number_spans, proper_runs
from rag.text import canonical, fold, has_diacritics

# The shapes rag.answer.shaped answers (None: a factoid).
WHY, HOW, LIST, YES_NO = "why", "how", "list", "yes_no"


@dataclass(frozen=True)
class Question:
    """What a question asks, read from its own words once (`Question.parse`)."""

    text: str  # as typed
    folded: str  # lowercase, without diacritics
    terms: tuple[str, ...]  # content syllables, canonical (rag.question.terms)
    folded_terms: tuple[str, ...]  # the same, folded
    words: frozenset[str]  # the folded content syllables, each once
    kind: str | None  # 'date', 'number', 'person', 'place' or None (rag.question)
    expected: str  # the expected answer type (rag.answertype)
    shape: str | None  # WHY, HOW, LIST, YES_NO or None
    wh: str  # kind, else 'reason', 'manner', 'what' or 'other': what the span features ask
    left: tuple[str, ...]  # the two folded syllables before the wh-word
    right: str | None  # the folded syllable after the wh-phrase
    unit: tuple[str, ...]  # what a count counts, folded ('bao nhiêu chi bộ': chi, bo, …)
    head: int  # syllables of the unit's first word (rag.question.unit_head)
    role: tuple[str, ...] | None  # the office of 'Ai là <office>?', folded terms
    grain: re.Pattern | None  # what a date question's answer should match ('năm nào': a year)
    entities: tuple[str, ...]  # proper-noun runs it names ("Hà Nội")
    numbers: tuple[str, ...]  # numbers it names (not bare years)
    dates: tuple[str, ...]  # dates it names ("năm 2023")

    @classmethod
    def parse(cls, text: str) -> Question:
        """The question read once (kept for the last questions asked: every sentence and
        span of an answer is scored against the same object)."""
        return _parse(text)


@lru_cache(maxsize=256)
def _parse(text: str) -> Question:
    kind = question_kind(text)
    folded_terms = terms(text, folded=True)
    unit = tuple(asked_unit(text)) if kind == "number" else ()
    role = asked_role(text) if kind == "person" else None
    left, right = _slot(text)
    return Question(
        text=text,
        folded=fold(text).lower(),
        terms=tuple(terms(text, folded=False)),
        folded_terms=tuple(folded_terms),
        words=frozenset(s for t in folded_terms for s in t.split()),
        kind=kind,
        expected=expected_type(text),
        shape=shape_of(text),
        wh=wh_kind(text),
        left=left,
        right=right,
        unit=unit,
        head=unit_head(text) if unit else 1,
        role=tuple(role) if role is not None else None,
        grain=date_grain(text) if kind == "date" else None,
        entities=tuple(text[a:b] for a, b in proper_runs(text)),
        numbers=tuple(text[a:b] for a, b in number_spans(text)),
        dates=tuple(text[a:b] for a, b in date_spans(text)),
    )


def shape_of(question: str) -> str | None:
    """WHY, HOW, LIST, YES_NO or None, from the question's own words (with or without marks).
    A question that asks a number, date, person or place is a factoid even when it says
    "những … nào" ("những năm nào")."""
    if phrases.WHY.search(question):
        return WHY
    if phrases.HOW.search(question):
        return HOW
    if phrases.YES_NO.search(question):
        return YES_NO
    if phrases.LIST.search(question) and question_kind(question) is None:
        return LIST
    return None


def wh_kind(question: str) -> str:
    """The kind of span that answers: question_kind's typed kinds, else 'reason', 'manner',
    'what' or 'other' (the question words of rag.phrases, with or without diacritics)."""
    typed = question_kind(question)
    if typed:
        return typed
    for kind, asks in (("reason", phrases.WHY), ("manner", phrases.HOW), ("what", phrases.WHAT)):
        if asks.search(question):
            return kind
    return "other"


# The wh-word of a question (the first of these), and the words of its phrase that follow it.
_WH = ("gì", "ai", "đâu", "nào", "mấy", "bao")
_WH_TAIL = {"bao": ("nhiêu", "giờ", "lâu", "xa")}


def _slot(question: str) -> tuple[tuple[str, ...], str | None]:
    """The folded syllables around the question's wh-word: two before it, one after its phrase."""
    words = [w for w in re.findall(r"\w+", canonical(question).lower())]
    wh = _WH if has_diacritics(question) else tuple(fold(w) for w in _WH)
    at = next((i for i, w in enumerate(words) if w in wh), None)
    if at is None:
        return (), None
    end = at + 1
    tails = [fold(t) for t in _WH_TAIL.get(canonical(words[at]), ())]
    if end < len(words) and fold(words[end]) in tails:
        end += 1
    folded = [fold(w) for w in words]
    return tuple(folded[max(0, at - 2) : at]), folded[end] if end < len(folded) else None


__all__ = ["HOW", "LIST", "WHY", "YES_NO", "Question", "shape_of", "wh_kind"]
