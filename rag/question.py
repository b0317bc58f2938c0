"""What a question asks for: its kind, the unit it counts, the grain of a date, the office asked about.

In: a question as typed (with or without diacritics, either tone placement). Out: a frozen
`Asked` (kind, unit, grain, role, the content terms). Patterns are written once with diacritics;
a question typed without them is matched on their folded form ("bao nhieu", "vi sao").
Never looks at documents: only the question's own words decide.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.text import canonical, fold, has_diacritics, word_tokens

# Function words of questions: they say what is asked, not what about.
QUESTION_WORDS = frozenset(
    canonical(w)
    for w in (
        "ai gì nào đâu sao bao nhiêu mấy khi giờ lúc thế như vậy là của và các những được có "
        "không đã đang sẽ trong với cho về thì tại ở này đó kia hãy biết hỏi theo bởi vì nên mà "
        "hay hoặc một người cái việc ra vào lên từ đến tới bằng ông bà anh chị ấy họ nó chúng "
        "phải chưa gồm đúng "
        # ...and words about the documents rather than their content.
        "bài viết nhắc đề cập"
    ).split()
)

# Without accents, only the function words whose folded form no content word shares: "dang"
# is also đảng, "co" cơ, "chi" chi bộ, "hoi" hội, "trong" trọng, "vi" đơn vị.
FOLDED_STOP = frozenset(fold(w) for w in QUESTION_WORDS) - frozenset(
    "dang co chi hoi thi tu den toi bang ba anh ho do the luc bao may dau da ve nen tai chung "
    "ma vi trong cho phai chua gom dung".split()
)

# (kind, pattern on the canonical lowercase question); the first match wins, so a count
# ("có bao nhiêu") is never taken for a yes/no question and a date never for a count.
_ASKS = (
    (
        "date",
        r"\b(khi nào|bao giờ|lúc nào|hồi nào|ngày nào|năm nào|tháng nào|thời gian nào|"
        r"thời điểm nào|ngày bao nhiêu|năm bao nhiêu|năm mấy|thế kỷ nào|thế kỉ nào|"
        r"thập kỷ nào|thập niên nào|giai đoạn nào|thời kỳ nào|ngày tháng năm nào)\b",
    ),
    ("number", r"\b(bao nhiêu|mấy|số lượng|tỷ lệ|tỉ lệ|bao lâu|bao xa)\b"),
    (
        "list",
        r"\b(gồm những|bao gồm những|gồm các|những (?:\w+ ){0,5}nào|các (?:\w+ ){0,5}nào|"
        r"những gì|những ai|liệt kê|kể tên)\b",
    ),
    ("person", r"(^|\s)(ai|người nào|đồng chí nào|ông nào|bà nào)(\s|\?|$)"),
    (
        "place",
        r"\b(ở đâu|tại đâu|từ đâu|đến đâu|nơi nào|chỗ nào|địa điểm nào|đâu|thành phố nào|"
        r"quốc gia nào|nước nào|tỉnh nào|vùng nào|khu vực nào)\b",
    ),
    (
        "reason",
        r"\b(vì sao|tại sao|do đâu|vì lý do gì|vì lí do gì|lý do|lí do|nguyên nhân|"
        r"để làm gì|nhằm mục đích gì|mục đích)\b",
    ),
    (
        "manner",
        r"\b(như thế nào|bằng cách nào|thế nào|ra sao|cách nào|làm sao|làm thế nào|bằng gì)\b",
    ),
    (
        "yesno",
        r"(^|\s)(có phải|phải không|hay không|đúng không|có đúng|hay chưa)(\s|\?|$)"
        r"|^(có|đã|được|là)\s.*\s(không|chưa)\s*\??\s*$"
        r"|\s(có|đã|được)\s.*\s(không|chưa)\s*\??\s*$",
    ),
    ("what", r"\b(là gì|gì|cái nào|điều nào|loại nào|nào)\b"),
)
_COMPILED = tuple((kind, re.compile(p)) for kind, p in _ASKS)
_COMPILED_FOLDED = tuple((kind, re.compile(fold(p))) for kind, p in _ASKS)

# Kinds whose answer is a typed span (a number, a date, a name, a place).
TYPED = ("number", "date", "person", "place")


def question_kind(question: str) -> str | None:
    """A kind of _ASKS (date, number, list, person, place, reason, manner, yesno, what), or
    None when the question says nothing of what it wants."""
    q = " ".join(canonical(question).split())
    asks = _COMPILED if has_diacritics(question) else _COMPILED_FOLDED
    for kind, pattern in asks:
        if pattern.search(q):
            return kind
    return None


_GRAINS = (
    (r"\bngày (nào|bao nhiêu)\b", r"\d{1,2}[/-]\d{1,2}|ngày\s+\d"),
    (r"\bnăm (nào|bao nhiêu|mấy)\b", r"(?:1[0-9]|20)\d{2}"),
    (r"\btháng (nào|mấy)\b", r"tháng\s+\d|\d{1,2}/\d{4}"),
    (r"\bthế k[ỷỉ] nào\b", r"thế k[ỷỉ]"),
)


def date_grain(question: str) -> re.Pattern | None:
    """What a date question asks for ("ngày nào" a day, "năm nào" a year): a pattern its
    answer should match, if the question says."""
    q = fold(canonical(question))
    for asks, grain in _GRAINS:
        if re.search(fold(asks), q):
            return re.compile(grain, re.IGNORECASE)
    return None


# Words that can follow "bao nhiêu" without naming what is counted ("tăng bao nhiêu so với").
_NOT_UNIT = frozenset("so voi la trong cua duoc tu den khi vao o tai thi nhu nao nam".split())


def asked_unit(question: str) -> list[str]:
    """The folded words naming what a number question counts: 'bao nhiêu chi bộ' -> chi, bo."""
    m = re.search(r"(?:bao nhieu|may)\s+((?:\w+\s?){1,3})", fold(canonical(question)))
    if not m or m.group(1).split()[0] in _NOT_UNIT:
        return []
    return m.group(1).split()


# Matched on the folded question, so "Ai la Bi thu?" is read like "Ai là Bí thư?".
_WHO_IS = re.compile(r"^\s*(?:ai la\s+(?P<a>.+?)|(?P<b>.+?)\s+la ai)\s*[?.]*\s*$", re.IGNORECASE)

# Offices in general use in news and bulletins; 'Ai là <office>?' asks who holds that very one.
OFFICES = tuple(
    canonical(w)
    for w in (
        "bí thư",
        "phó bí thư",
        "tổng bí thư",
        "chủ tịch",
        "phó chủ tịch",
        "trưởng ban",
        "phó trưởng ban",
        "tổng biên tập",
        "phó tổng biên tập",
        "giám đốc",
        "phó giám đốc",
        "tổng giám đốc",
        "thủ tướng",
        "phó thủ tướng",
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
        "chỉ huy trưởng",
    )
)


_OFFICES_FOLDED = tuple(fold(o) for o in OFFICES)


def terms(text: str, folded: bool) -> list[str]:
    """Content tokens: question words dropped; folded when the question was typed without
    accents, so that both sides compare alike."""
    tokens = word_tokens(fold(text) if folded else text)
    stop = FOLDED_STOP if folded else QUESTION_WORDS
    return [t for t in tokens if t not in stop]


def asked_role(question: str) -> list[str] | None:
    """The office in 'Ai là <office>?' / '<office> là ai?' (its first four words, folded);
    None for other 'who' questions ('Ai là người nhận bóng?')."""
    m = _WHO_IS.match(fold(canonical(question)))
    if not m:
        return None
    role = " ".join((m.group("a") or m.group("b")).split()[:4])
    if not role.startswith(_OFFICES_FOLDED):
        return None
    return terms(role, folded=True)


@dataclass(frozen=True)
class Asked:
    """What the question wants."""

    text: str
    kind: str | None
    folded: bool  # typed without diacritics: compare on folded forms
    unit: tuple[str, ...] = ()  # folded words of what a number question counts
    role: tuple[str, ...] | None = None  # folded words of the office in "Ai là <office>?"

    @property
    def typed(self) -> bool:
        return self.kind in TYPED


def analyse(question: str) -> Asked:
    kind = question_kind(question)
    role = asked_role(question) if kind == "person" else None
    return Asked(
        text=question,
        kind=kind,
        folded=not has_diacritics(question),
        unit=tuple(asked_unit(question)) if kind == "number" else (),
        role=tuple(role) if role else None,
    )
