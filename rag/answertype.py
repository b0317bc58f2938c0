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
from rag.question import question_kind
from rag.text import canonical, fold

PERSON, ORGANIZATION, TITLE = "person", "organization", "title"
NUMBER, DATE, PLACE = "number", "date", "place"
REASON, MANNER, LIST_TYPE, YES_NO_TYPE = "reason", "manner", "list", "yes_no"
DEFINITION, OTHER = "definition", "other"
# Span types beyond the asked ones: a group of people ("các sinh viên"), a proper noun of
# unknown kind, a quoted phrase (a slogan, a document's title).
GROUP, PROPER, QUOTED = "group", "proper", "quoted"

STRONG, WEAK, NONE = 2, 1, 0

_ORGANIZATION_Q = Phrases(
    rf"{W}(?:cơ quan|tổ chức|đơn vị|ban|bộ|sở|ngành|đảng bộ|đảng ủy|đảng uỷ|ủy ban|uỷ ban|hội đồng"
    rf"|công ty|tập đoàn|doanh nghiệp|trường|viện|tờ báo|báo|hãng|đội|câu lạc bộ|quân đội"
    rf"|nước|quốc gia|chính phủ)\s+(?:nào|gì){E}"
)
_TITLE_Q = Phrases(
    rf"{W}(?:chức vụ|chức danh|cương vị|vai trò|chức|vị trí công tác|danh hiệu)\s+(?:gì|nào){E}"
)
_DEFINITION_Q = Phrases(r"^\W*\S.*\slà gì\W*$")

# Offices and titles of news and bulletins (general Vietnamese), folded.
_OFFICE_HEADS = tuple(
    fold(w)
    for w in (
        "bí thư",
        "phó bí thư",
        "tổng bí thư",
        "chủ tịch",
        "phó chủ tịch",
        "trưởng ban",
        "phó trưởng ban",
        "tổng biên tập",
        "giám đốc",
        "phó giám đốc",
        "tổng giám đốc",
        "thủ tướng",
        "bộ trưởng",
        "thứ trưởng",
        "chủ nhiệm",
        "ủy viên",
        "uỷ viên",
        "chánh án",
        "viện trưởng",
        "hiệu trưởng",
        "tổng thống",
        "trưởng phòng",
        "chánh văn phòng",
        "tư lệnh",
        "đại sứ",
        "thị trưởng",
        "thống đốc",
        "giáo sư",
        "tiến sĩ",
        "trưởng",
        "phó",
    )
)
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
    # triển khai nhiệm vụ"): names capitalise their words.
    if any(pos == "V" and w[:1].islower() for w, pos, _ in words[1:]) and PERSON not in found:
        found -= {ORGANIZATION, GROUP, PROPER, PLACE}
    # A title ends in a noun, never in a verb ("Trưởng Ban … phát biểu" is a clause).
    if words and words[-1][1] == "V" and words[-1][0][:1].islower():
        found -= {TITLE, ORGANIZATION, GROUP, PROPER, PLACE}
    return frozenset(found)


# For each expected type: the span types that are it (STRONG) and those that may answer it
# (WEAK). A type left out of both never answers it.
_AGREE: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    PERSON: (frozenset({PERSON}), frozenset({ORGANIZATION, GROUP, PROPER, TITLE})),
    ORGANIZATION: (frozenset({ORGANIZATION}), frozenset({PROPER, GROUP, PLACE})),
    TITLE: (frozenset({TITLE}), frozenset()),
    PLACE: (frozenset({PLACE}), frozenset({PROPER, ORGANIZATION})),
    NUMBER: (frozenset({NUMBER}), frozenset()),
    DATE: (frozenset({DATE}), frozenset()),
}


def agreement(expected: str, span: str) -> int:
    """STRONG, WEAK or NONE: whether `span` is of the type `expected` asks for. Reasons,
    means, lists, definitions and other questions take any span (a clause)."""
    if expected not in _AGREE:
        return STRONG
    types = span_types(span)
    strong, weak = _AGREE[expected]
    if types & strong:
        return STRONG
    # A quoted phrase is a slogan or a title of a text: never a person, organ or place.
    if QUOTED in types and expected in (PERSON, ORGANIZATION, PLACE):
        return NONE
    return WEAK if types & weak else NONE


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
