"""A follow-up's demonstrative ("hội nghị đó", "chương trình này") resolved before retrieval.

In: a follow-up question and the conversation so far ([(question, answer), ...]). Out: the
question with "ông ấy", "bà ấy", "người đó" … replaced by the name of the previous answer (else
question), or with "<noun> đó/ấy/này/trên" replaced by the noun phrase of the previous question (or,
failing that, of the previous answer) that starts with the same noun, as the user or the article
wrote it ("Hội nghị đó diễn ra khi nào?" after "Ai chủ trì Hội nghị sơ kết 2 năm thực hiện
Chương trình số 06-Ctr/ĐUK?" asks when "Hội nghị sơ kết 2 năm … 06-Ctr/ĐUK" took place); None
when it refers to nothing found there.
Never invents words: the phrase put in is a slice of the earlier question or answer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.phrases import E, Phrases, W
from rag.question import asked_unit, unit_head
from rag.spans import person_spans
from rag.text import canonical, fold, has_diacritics, nfc

# "<one or two words> đó": the noun the demonstrative points back with (people: _PERSON; times,
# "năm đó", by the chain's own rule).
_DEMONSTRATIVE = re.compile(r"(?<!\w)(\w+(?:\s\w+)?)\s(?:đó|ấy|này|kia|trên|vừa rồi)(?!\w)")
_DEMONSTRATIVE_FOLDED = re.compile(r"(?<!\w)(\w+(?:\s\w+)?)\s(?:do|ay|nay|kia|tren)(?!\w)")
# Words that are not a noun a demonstrative points back with ("như vậy", "khi đó", "người đó").
_NOT_HEAD = frozenset(
    fold(w)
    for w in "khi lúc năm ngày tháng thời điểm sau trước vì do từ như ông bà anh chị người "
    "đồng chí vị cái điều việc nơi chỗ tại ở của và là có được thì".split()
)
# Where the referred phrase ends in the earlier question: what it asks, or its predicate.
_PHRASE_END = Phrases(
    rf"\s(?:ai|gì|nào|đâu|bao nhiêu|mấy|khi nào|bao giờ|là|có|được|đã|đang|sẽ|diễn ra"
    rf"|do|vào|tại|ở|gồm|bao gồm|nhằm|để|với|cho|thế nào|ra sao|như thế nào){E}"
)
_CLAUSE_MARK = re.compile(r"[?!;,.:(\[]|\s[-–]\s")
_MARKERS = re.compile(r"\s*\[\d+\]")
# Turns looked back through for the phrase a demonstrative refers to.
TURNS_BACK = 3


# A person referred back to: replaced by the name of the previous answer, else question.
_PERSON = Phrases(
    rf"{W}(?:ông ấy|bà ấy|anh ấy|chị ấy|ông ta|bà ta|người này|người đó|người ấy|đồng chí này"
    rf"|đồng chí đó|đồng chí ấy|vị này|vị đó){E}"
)


def resolve_reference(question: str, history: Sequence[tuple[str, str]]) -> str | None:
    """`question` with the person ("ông ấy") or the "<noun> đó" it refers to put in its place:
    the name the previous answer (else question) gives, the phrase that noun heads there."""
    if not history:
        return None
    prev_q, prev_a = history[-1]
    counted = _other_count(question, prev_q)
    if counted:
        return counted
    person = _PERSON.search(question)
    if person:
        for earlier in (_MARKERS.sub("", prev_a), prev_q):
            names = person_spans(earlier)
            if names:
                a, b = names[0]
                return question[: person.start()] + earlier[a:b] + question[person.end() :]
        return None
    marked = has_diacritics(question)
    pattern = _DEMONSTRATIVE if marked else _DEMONSTRATIVE_FOLDED
    shape = canonical(question) if marked else fold(question).lower()
    for m in pattern.finditer(shape):
        head = m.group(1).split()
        # The noun is the last one or two words before the demonstrative: try two, then one.
        for words in (head, head[-1:]) if len(head) > 1 else (head,):
            if fold(words[0]) in _NOT_HEAD:
                continue
            # The latest turn that names it, its question first (the user's own words).
            for turn_q, turn_a in reversed(history[-TURNS_BACK:]):
                for earlier in (turn_q, _MARKERS.sub("", turn_a)):
                    found = _phrase(earlier, words)
                    if found:
                        start = m.end(1) - len(" ".join(words))
                        return question[:start] + found + question[m.end() :]
    return None


# "Còn <X> thì sao?": X asked about as the previous question asked.
_CONTINUE = Phrases(
    r"^\W*(?:thế |vậy )?còn\s+(?P<x>.+?)\s*(?:thì sao|thì thế nào|thế nào|ra sao)?\W*$"
)
_COUNT = Phrases(rf"{W}(?:bao nhiêu|mấy)\s+")


# Measures, not counted things: "tăng bao nhiêu phần trăm" then "Còn kim ngạch nhập khẩu thì
# sao?" asks the same measure of another subject (folded, general Vietnamese units).
_MEASURES = frozenset(
    "phan lan tuoi nam thang ngay gio phut giay tien dong ty trieu nghin ngan km kg ha usd met "
    "tan lit do".split()
)


def _other_count(question: str, prev_q: str) -> str | None:
    """ "Còn tổ chức cơ sở đảng thì sao?" after "… triển khai tới bao nhiêu chi bộ?" counts the
    other thing: "… triển khai tới bao nhiêu tổ chức cơ sở đảng?". Only for a count of a named
    unit and a common noun (lowercase): "Còn Hà Nội thì sao?" or "Còn năm 2021 thì sao?" asks
    the same of another subject or year, which the chain's own rule does."""
    m = _CONTINUE.search(question)
    if not m:
        return None
    x = nfc(question)[m.start("x") : m.end("x")].strip()
    unit = asked_unit(prev_q)
    count = _COUNT.search(prev_q)
    if (
        not unit
        or unit[0] in _MEASURES
        or not count
        or not x
        or not x[0].islower()
        or re.search(r"\d", x)
    ):
        return None
    at = count.end()
    rest = prev_q[at:]
    words = rest.split()
    # The unit's words as the question wrote them, up to what ends the noun phrase.
    n = 0
    # The counted noun is one word: its syllables by segmentation (all of them when typed
    # without diacritics, which segments poorly).
    size = unit_head(prev_q) if has_diacritics(prev_q) else len(unit)
    while n < len(words) and n < size and fold(words[n]).lower().strip("?.,!") == unit[n]:
        n += 1
    if n == 0:
        return None
    tail = " ".join(words[n:])
    end = "" if tail else "?"
    last = words[n - 1]
    mark = last[len(last.rstrip("?.,!")) :]
    return f"{prev_q[:at]}{x}{mark}{' ' + tail if tail else end if not mark else ''}"


def _phrase(text: str, head: list[str]) -> str | None:
    """The phrase of `text` that starts with the words `head` (compared without diacritics) and
    runs to what the sentence asks or predicates, or to a clause mark."""
    folded = fold(text).lower()
    at = re.search(rf"(?<!\w){re.escape(' '.join(fold(w) for w in head))}(?!\w)", folded)
    if not at:
        return None
    start = at.start()
    rest = text[at.end() :]
    end = len(rest)
    stop = _PHRASE_END.search(rest)
    if stop:
        end = stop.start()
    mark = _CLAUSE_MARK.search(rest[:end])
    if mark:
        end = mark.start()
    phrase = text[start : at.end() + end].strip()
    # Just the noun again, nothing named: no better than the demonstrative itself.
    return phrase if len(phrase.split()) > len(head) else None


# --- what is carried over when nothing is referred to by name ---------------------------------

_TIME = Phrases(rf"{W}(?:năm đó|năm ấy|khi đó|lúc đó|thời điểm đó|năm này){E}")
_YEAR = re.compile(r"(?<!\d)(?:19|20)\d{2}(?!\d)")
# What a question asks with: left out when only its topic is carried over.
_ASK_PHRASE = Phrases(
    rf"{W}(?:vào\s+)?(?:khi nào|bao giờ|lúc nào|ngày nào|năm nào|tháng nào|bao nhiêu|mấy"
    rf"|là ai|ai|là gì|gì|ở đâu|đâu){E}"
)


def rewrite_follow_up(question: str, history: Sequence[tuple[str, str]]) -> str:
    """The question a follow-up asks, standing alone, for retrieval and the answerers: a
    person or "<noun> đó" it refers to put in (`resolve_reference`); "Còn X thì sao?" asked of
    X as the previous question asked ("… tăng bao nhiêu?"), or of the year X; "năm đó" as the
    previous answer's (else question's) year; a question of four words or fewer with the
    previous question's topic in brackets. Otherwise the question as typed."""
    if not history:
        return question
    resolved = resolve_reference(question, history)
    if resolved:
        return resolved
    prev_q, prev_a = history[-1]
    m = _CONTINUE.search(question)
    if m:
        new = nfc(question)[m.start("x") : m.end("x")].strip()
        years = _YEAR.findall(new)
        if years and _YEAR.search(prev_q):
            return _YEAR.sub(years[0], prev_q, count=1)
        return _swap_subject(prev_q, new)
    m = _TIME.search(question)
    if m:
        years = _YEAR.findall(prev_a) or _YEAR.findall(prev_q)
        if years:
            return nfc(question)[: m.start()] + f"năm {years[0]}" + nfc(question)[m.end() :]
    if len(question.split()) <= 4:
        # Only the previous topic comes along, not what it asked ("... vào ngày nào").
        topic = " ".join(_ASK_PHRASE.sub(prev_q).split()).strip(" ,?")
        return f"{question.rstrip(' ?')} ({topic})?"
    return question


def _swap_subject(prev_q: str, subject: str) -> str:
    """'Còn kim ngạch nhập khẩu thì sao?' after '... công nghiệp của Khối tăng bao nhiêu?' asks
    'kim ngạch nhập khẩu tăng bao nhiêu?': the new subject with the old predicate, which starts
    at the word before the question phrase."""
    m = _ASK_PHRASE.search(prev_q)
    words_before = prev_q[: m.start()].split() if m else []
    if not words_before:
        return f"{prev_q.rstrip(' ?')} {subject}?"
    verb_at = prev_q.rfind(words_before[-1], 0, m.start())
    tail = prev_q[verb_at:]
    return f"{subject} {tail[0].lower()}{tail[1:]}"


__all__ = ["resolve_reference", "rewrite_follow_up"]
