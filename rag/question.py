"""What a question asks for, read from its own words.

In: a question (with or without diacritics). Out: its kind ('date', 'number', 'person',
'place' or None for other questions), the unit a count asks about ('bao nhiêu chi bộ'), the
grain of a date ('năm nào' wants a year), the office in 'Ai là <office>?', and its content
terms. A question typed without diacritics is matched on the folded patterns ("bao nhieu").
Never looks at documents: only the question's words decide.
"""

from __future__ import annotations

import re

from rag.phrases import Phrases
from rag.text import canonical, fold, has_diacritics, word_tokens

# Function words of questions: they say what is asked, not what about.
QUESTION_WORDS = frozenset(
    canonical(w)
    for w in (
        "ai gì nào đâu sao bao nhiêu mấy khi giờ lúc thế như vậy là của và các những được có "
        "không đã đang sẽ trong với cho về thì tại ở này đó kia hãy biết hỏi theo bởi vì nên mà "
        "hay hoặc một người cái việc ra vào lên từ đến tới bằng ông bà anh chị ấy họ nó chúng "
        # ...and words about the documents rather than their content.
        "bài viết nhắc đề cập"
    ).split()
)

# Without accents, only the function words whose folded form no content word shares: "dang"
# is also đảng, "co" cơ, "chi" chi bộ, "hoi" hội, "trong" trọng, "vi" đơn vị.
FOLDED_STOP = frozenset(fold(w) for w in QUESTION_WORDS) - frozenset(
    "dang co chi hoi thi tu den toi bang ba anh ho do the luc bao may dau da ve nen tai chung "
    "ma vi trong cho".split()
)


def terms(text: str, folded: bool) -> list[str]:
    """The content words of `text` (syllables), folded or canonical."""
    tokens = word_tokens(fold(text) if folded else text)
    stop = FOLDED_STOP if folded else QUESTION_WORDS
    return [t for t in tokens if t not in stop]


_ASKS = (  # (kind, phrases of the question); first match wins
    (
        "date",
        Phrases(
            r"\b(khi nào|bao giờ|lúc nào|ngày nào|năm nào|tháng nào|thời gian nào|"
            r"thời điểm nào|ngày bao nhiêu|năm bao nhiêu)\b"
        ),
    ),
    ("number", Phrases(r"\b(bao nhiêu|mấy|số lượng|tỷ lệ|tỉ lệ)\b")),
    ("person", Phrases(r"(^|\s)(ai|người nào|đồng chí nào|ông nào|bà nào|những ai)(\s|\?|$)")),
    ("place", Phrases(r"\b(ở đâu|tại đâu|nơi nào|chỗ nào|địa điểm nào|đâu)\b")),
)


def question_kind(question: str) -> str | None:
    """'date', 'number', 'person', 'place' or None: what kind of span answers it."""
    return next((kind for kind, asks in _ASKS if asks.search(question)), None)


# Words that can follow "bao nhiêu" without naming what is counted ("tăng bao nhiêu so với").
_NOT_UNIT = frozenset("so voi la trong cua duoc tu den khi vao o tai thi nhu nao".split())


def asked_unit(question: str) -> list[str]:
    """The folded words naming what a number question counts: 'bao nhiêu chi bộ' -> chi bo."""
    # "thứ mấy" / "thứ bao nhiêu" asks a rank, which counts nothing.
    m = re.search(r"(?<!\bthu )(?:bao nhieu|may)\s+((?:\w+\s?){1,3})", fold(canonical(question)))
    if not m or m.group(1).split()[0] in _NOT_UNIT:
        return []
    return m.group(1).split()


def unit_head(question: str) -> int:
    """Syllables of the first word of what a count asks about, by underthesea's word
    segmentation: 2 for "bao nhiêu đảng viên" (one word), 1 for "bao nhiêu người tham dự".
    A question typed without diacritics segments poorly: 1."""
    if not has_diacritics(question) or not asked_unit(question):
        return 1
    from underthesea import word_tokenize

    words = [w.lower() for w in word_tokenize(canonical(question))]
    at = next((i for i, w in enumerate(words) if w in ("bao nhiêu", "mấy")), None)
    if at is None or at + 1 >= len(words):
        return 1
    return len(words[at + 1].split())


_GRAINS = (
    (re.compile(r"\bngày (nào|bao nhiêu)\b"), re.compile(r"\d{1,2}[/-]\d{1,2}|ngày\s+\d")),
    (re.compile(r"\bnăm (nào|bao nhiêu)\b"), re.compile(r"(?:1[5-9]|20)\d{2}")),
    (re.compile(r"\btháng (nào|mấy)\b"), re.compile(r"tháng\s+\d|\d{1,2}/\d{4}")),
)


def date_grain(question: str) -> re.Pattern | None:
    """What a date question asks for: a pattern its answer should match, if it says."""
    q = canonical(question)
    return next((grain for asks, grain in _GRAINS if asks.search(q)), None)


_WHO_IS = re.compile(r"^\s*(?:ai là\s+(?P<a>.+?)|(?P<b>.+?)\s+là ai)\s*[?.]*\s*$", re.IGNORECASE)

# Offices named in news and bulletins (general Vietnamese, not taken from any article).
OFFICE_WORDS = (
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
    "đại sứ",
    "thị trưởng",
    "thống đốc",
)
# 'Ai là <office>?' asks who holds that very office.
_OFFICES = tuple(canonical(w) for w in OFFICE_WORDS)


def asked_role(question: str) -> list[str] | None:
    """The office in 'Ai là <office>?' / '<office> là ai?' (its first four words, folded);
    None for other 'who' questions ('Ai là người nhận bóng?')."""
    m = _WHO_IS.match(question)
    if not m:
        return None
    role = " ".join((m.group("a") or m.group("b")).split()[:4])
    if not canonical(role).startswith(_OFFICES):
        return None
    return terms(role, folded=True)


def role_matches(role: list[str], sentence: str) -> bool:
    """'Ai là Bí thư Thành ủy?' is not answered by 'Bí thư Đảng uỷ Khối …': the title must
    stand in the sentence as written, pair of words by pair of words."""
    have = terms(sentence, folded=True)
    pairs = set(zip(have, have[1:], strict=False))
    return all(pair in pairs for pair in zip(role, role[1:], strict=False))


_QUESTION_NUMBER = re.compile(r"(?<![\w/-])\d+(?:[.,]\d+)*(?![\w/])")


def numbers_agree(question: str, passage: str) -> bool:
    """A question about 2022 is not answered by a passage that never says 2022 (when it gives
    several numbers, one found is enough: "from 2000 to 2005 against five years before")."""
    asked = _QUESTION_NUMBER.findall(question)
    found = set(re.findall(r"\d+(?:[.,]\d+)*", passage))
    return not asked or any(n in found for n in asked)
