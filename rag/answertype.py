"""Answers of the asked type: what a question expects, what a span is, and whether they agree.

In: a question (with or without diacritics); a candidate answer span as written in an article.
Out: the question's expected answer type (PERSON, ORGANIZATION, TITLE, NUMBER, DATE, PLACE,
REASON, MANNER, LIST, YES_NO, DEFINITION or OTHER); the span's types read from underthesea's
POS and NER tags (a CRF shipped in its wheel), Vietnamese name structure (surname first), the
number and date grammar of `rag.spans` and general Vietnamese head nouns (offices, organs,
people); and how well they agree: STRONG (the asked type), WEAK (a compatible type: an organ or
a group of people for "ai"), NONE (another type: never bolded as the answer).
Never looks at documents beyond the span and never decides from words of one collection.
"""

from __future__ import annotations

import threading
from functools import lru_cache

from rag.phrases import HOW, LIST, WHY, YES_NO, E, Phrases, W
from rag.question import OFFICE_WORDS, question_kind
from rag.text import canonical, fold

PERSON, ORGANIZATION, TITLE = "person", "organization", "title"
NUMBER, DATE, PLACE = "number", "date", "place"
REASON, MANNER, LIST_TYPE, YES_NO_TYPE = "reason", "manner", "list", "yes_no"
DEFINITION, OTHER = "definition", "other"
# Span types beyond the asked ones: a group of people ("các sinh viên"), a proper noun of
# unknown kind, a quoted phrase (a slogan, a document's title), a clause (it has a verb).
GROUP, PROPER, QUOTED, CLAUSE = "group", "proper", "quoted", "clause"

STRONG, WEAK, NONE = 2, 1, 0

# "Cơ quan nào …?" asks for an organ; "loại trường nào" asks for a kind, not one organ.
_ORGANIZATION_Q = Phrases(
    rf"(?<!loại )(?<!kiểu )(?<!dạng ){W}(?:cơ quan|tổ chức|đơn vị|ủy ban|uỷ ban|hội đồng|công ty"
    rf"|tập đoàn|đảng bộ|đảng ủy|đảng uỷ)\s+(?:nào|gì){E}"
)
_TITLE_Q = Phrases(rf"{W}(?:chức vụ|chức danh|cương vị|giữ chức)\s+(?:gì|nào){E}")
_DEFINITION_Q = Phrases(r"^\W*\S.*\slà gì\W*$")

# Offices and titles (rag.question's list, plus academic titles and the bare heads), folded.
_OFFICE_HEADS = tuple(fold(w) for w in (*OFFICE_WORDS, "giáo sư", "tiến sĩ", "trưởng", "phó"))
# Head nouns of organisations and organs (general Vietnamese), folded.
_ORGAN_HEADS = frozenset(
    fold(w)
    for w in (
        "đảng ủy",
        "đảng uỷ",
        "đảng bộ",
        "chi bộ",
        "ban",
        "bộ",
        "sở",
        "ủy ban",
        "uỷ ban",
        "hội đồng",
        "công ty",
        "tập đoàn",
        "trường",
        "viện",
        "báo",
        "đài",
        "quân đội",
        "chính phủ",
        "quốc hội",
        "thành ủy",
        "tỉnh ủy",
        "tổ chức",
        "cơ quan",
        "hội",
        "liên đoàn",
        "ngân hàng",
        "đội",
        "câu lạc bộ",
        "hãng",
        "nhà thờ",
        "giáo hội",
        "đại học",
        "học viện",
        "văn phòng",
        "cục",
        "tổng cục",
        "vụ",
        "phòng",
        "tòa án",
        "viện kiểm sát",
        "mặt trận",
        "đoàn",
        "liên minh",
        "hiệp hội",
        "quỹ",
        "nhà nước",
        "triều đình",
    )
)
# Nouns of people and groups of people (general Vietnamese), folded.
_PEOPLE_HEADS = frozenset(
    fold(w)
    for w in (
        "người",
        "nhân dân",
        "dân",
        "sinh viên",
        "học sinh",
        "học viên",
        "đảng viên",
        "cán bộ",
        "công nhân",
        "nông dân",
        "binh lính",
        "lính",
        "quân",
        "chiến sĩ",
        "bác sĩ",
        "giáo viên",
        "nhà",
        "nhóm",
        "gia đình",
        "vua",
        "hoàng đế",
        "ông",
        "bà",
        "anh",
        "chị",
        "đồng chí",
        "thành viên",
        "đại biểu",
        "cử tri",
        "khán giả",
        "tác giả",
        "nhà văn",
        "nhà khoa học",
        "kỹ sư",
        "cầu thủ",
        "vận động viên",
        "giới",
        "tầng lớp",
        "dòng họ",
        "bộ tộc",
        "dân tộc",
        "người dân",
    )
)
_DETERMINERS = frozenset(fold(w) for w in "các những mọi một hai ba nhiều số ít".split())
_PLACE_HEADS = frozenset(
    fold(w)
    for w in "tỉnh thành phố huyện quận xã phường thị xã thị trấn nước vùng miền thủ đô sông núi "
    "biển đảo hồ vịnh đường phố làng châu lục lục địa khu".split()
)


@lru_cache(maxsize=256)
def expected_type(question: str) -> str:
    """The type of answer `question` asks for, from its own words (with or without marks)."""
    if WHY.search(question):
        return REASON
    if HOW.search(question):
        return MANNER
    if YES_NO.search(question):
        return YES_NO_TYPE
    kind = question_kind(question)
    if kind in ("date", "number", "place"):
        return {"date": DATE, "number": NUMBER, "place": PLACE}[kind]
    if _TITLE_Q.search(question):
        return TITLE
    if _ORGANIZATION_Q.search(question):
        return ORGANIZATION
    if kind == "person":
        return PERSON
    if LIST.search(question):
        return LIST_TYPE
    if _DEFINITION_Q.search(question):
        return DEFINITION
    return OTHER


# underthesea loads its models on first use without a lock; the page answers in threads.
_TAGGER = threading.Lock()


@lru_cache(maxsize=8192)
def _ner(text: str) -> tuple[tuple[str, str, str], ...]:
    """(word, POS, NER) of underthesea's CRF over `text`."""
    from underthesea import ner

    with _TAGGER:
        return tuple((w, pos, tag) for w, pos, _, tag in ner(text))


_QUOTES = "\"“”«»‘’'"


@lru_cache(maxsize=8192)
def span_types(span: str) -> frozenset[str]:
    """The types a span of article text can answer as (several may hold: "Bí thư Lê Minh Đức"
    is a title and a person)."""
    from rag.spans import date_spans, number_spans, person_spans

    text = span.strip()
    if not text:
        return frozenset()
    found: set[str] = set()
    if text[0] in _QUOTES or text[-1] in _QUOTES:
        found.add(QUOTED)
    if date_spans(text):
        found.add(DATE)
    if number_spans(text):
        found.add(NUMBER)
    words = _ner(text)
    tags = {tag[2:] for _, _, tag in words if tag != "O"}
    head = " ".join(fold(canonical(w)) for w, _, _ in words[:2])
    first = fold(canonical(words[0][0])) if words else ""
    if first in _DETERMINERS and len(words) > 1:
        first = fold(canonical(words[1][0]))
        head = " ".join(fold(canonical(w)) for w, _, _ in words[1:3])
    if "PER" in tags or person_spans(text):
        found.add(PERSON)
    if "ORG" in tags or first in _ORGAN_HEADS or head in _ORGAN_HEADS:
        found.add(ORGANIZATION)
    if "LOC" in tags or first in _PLACE_HEADS or head in _PLACE_HEADS:
        found.add(PLACE)
    if head.startswith(_OFFICE_HEADS) or first.startswith(_OFFICE_HEADS):
        found.add(TITLE)
    if first in _PEOPLE_HEADS or head in _PEOPLE_HEADS:
        found.add(GROUP)
    if any(pos == "Np" for _, pos, _ in words) or any(
        w[:1].isupper() for w, _, _ in words[1:] if w[:1].isalpha()
    ):
        found.add(PROPER)
    # A lowercase verb outside a name makes the span a clause, not an entity ("Đảng ủy Khối và
    # triển khai nhiệm vụ"): names capitalise their words. A title or a name ends in a noun,
    # never in a verb ("Trưởng Ban … phát biểu" is a clause).
    verbs = any(pos == "V" and w[:1].islower() for w, pos, _ in words[1:])
    if words[-1][1] == "V" and words[-1][0][:1].islower():
        found -= {TITLE, ORGANIZATION, GROUP, PROPER, PLACE}
        found.add(CLAUSE)
    elif verbs and not found & {PERSON, TITLE}:  # "Trưởng Ban chỉ đạo …" is still a title
        found -= {ORGANIZATION, GROUP, PROPER, PLACE}
        found.add(CLAUSE)
    return frozenset(found)


# For each expected type: the span types that are it (STRONG). Numbers, dates and titles need
# one (the number and date grammar and the offices know them); names, organs, titles and places are often written
# as common nouns ("các sinh viên", "chủ sở hữu"), so any other noun phrase may answer them
# (WEAK), and only a span positively of another kind may not (NONE).
_STRONG: dict[str, frozenset[str]] = {
    PERSON: frozenset({PERSON}),
    ORGANIZATION: frozenset({ORGANIZATION}),
    TITLE: frozenset({TITLE}),
    PLACE: frozenset({PLACE}),
    NUMBER: frozenset({NUMBER}),
    DATE: frozenset({DATE}),
}
_ENTITIES = (PERSON, ORGANIZATION, TITLE, PLACE)


def agreement(expected: str, span: str) -> int:
    """STRONG, WEAK or NONE: whether `span` is of the type `expected` asks for. Reasons,
    means, lists, definitions and other questions take any span (a clause). A person, organ,
    title or place is never a number or date written alone, a quoted phrase (a slogan, a
    text's title) or a clause (a lowercase verb after its first word)."""
    if expected not in _STRONG:
        return STRONG
    types = span_types(span)
    if types & _STRONG[expected]:
        return STRONG
    if expected in (NUMBER, DATE, TITLE):  # the grammar and the offices know them all
        return NONE
    if QUOTED in types or CLAUSE in types or _only_number_or_date(span):
        return NONE
    return WEAK


def _only_number_or_date(span: str) -> bool:
    """Whether the span is nothing but a number or a date ("594", "17/2", "năm 2023")."""
    from rag.spans import date_spans, number_spans

    text = span.strip(" .,;:")
    return any(b - a >= len(text) - 1 for a, b in [*number_spans(text), *date_spans(text)])


__all__ = [
    "DATE",
    "DEFINITION",
    "LIST_TYPE",
    "MANNER",
    "NONE",
    "NUMBER",
    "ORGANIZATION",
    "OTHER",
    "PERSON",
    "PLACE",
    "REASON",
    "STRONG",
    "TITLE",
    "WEAK",
    "YES_NO_TYPE",
    "agreement",
    "expected_type",
    "span_types",
]
