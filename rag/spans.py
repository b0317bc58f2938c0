"""Typed answering spans: numbers with their units, dates, people's names and places.

In: a sentence, the question and what it asks ('number', 'date', 'person', 'place'). Out: the
offsets of the sentence's candidate spans of that kind, best first: a number of the unit the
question counts, a date of the grain it asks, the span whose clause shares most with the
question, then the nearest one. Spans the question itself says are left out.
Never changes the sentence: spans are offsets into it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from rag.question import QUESTION_WORDS, terms
from rag.scoring import flat_idf
from rag.text import canonical, fold, has_diacritics

if TYPE_CHECKING:
    from rag.answer.question import Question

# Every uppercase letter with a Latin base (À-Ỹ as a range would take lowercase ones too).
_UPPER = "".join(
    c
    for c in map(chr, range(0x41, 0x1EFA))
    if c.isupper() and fold(c).isascii() and fold(c).isalpha()
)
_NUMBER_WORD = r"(?:một|hai|ba|bốn|sáu|bảy|tám|chín|mười|mươi|trăm|nghìn|ngàn|triệu|tỷ)"
# "50 nghìn", "1,5 triệu": one number.
_MULTIPLIER = r"(?:nghìn|ngàn|vạn|triệu|tỷ|tỉ|trăm)"
_NUMBER = re.compile(
    rf"(?<![\w/-])\d+(?:[.,]\d+)*(?:\s?%|\s+{_MULTIPLIER}(?!\w))?(?![\w/-])"
    r"|(?<=thứ )[IVXL]{1,6}(?![\w/-])"
    rf"|(?<!\w){_NUMBER_WORD}(?:\s+{_NUMBER_WORD})*(?!\w)"
)
_DATE = re.compile(
    r"(?:ngày\s+)?(?<![\d/-])\d{1,2}[/-]\d{1,2}(?:[/-]\d{2,4})?(?![\d/-])"
    r"|ngày\s+\d{1,2}\s+tháng\s+\d{1,2}(?:\s+năm\s+\d{4})?"
    r"|tháng\s+\d{1,2}(?:\s*(?:/|năm)\s*\d{4})?"
    r"|năm\s+\d{4}|(?<!\d)(?:1[5-9]|20)\d{2}(?!\d)"
    # "giữa thế kỷ 18", "thế kỷ XVI", "thập niên 1980", "những năm 80"
    r"|(?:(?:đầu|giữa|cuối|nửa đầu|nửa cuối)\s+)?(?:thế kỷ|thế kỉ)\s+(?:\d{1,2}|[IVX]{1,5})(?![\w/-])"
    r"|(?:thập niên|thập kỷ|thập kỉ|những năm)\s+\d{2,4}(?![\w/-])",
    re.IGNORECASE,
)
_WHEN = re.compile(r"\bkhi nao\b")
# A date that names its day ("17/2", "ngày 25 tháng 12").
_DAY = re.compile(r"(?<![\d/-])\d{1,2}[/-]\d{1,2}(?![\d])|ngày\s+\d", re.IGNORECASE)
_CONDITION = re.compile(r"(?<!\w)(?:khi|lúc|trong khi|sau khi|trước khi)\s+[^,;:.()]{3,120}", re.I)
_YEAR = re.compile(r"(?:1[5-9]|20)\d{2}")
_YEAR_RANGE = re.compile(r"(?<!\d)(?:1[5-9]|20)\d{2}\s*[-–]\s*(?:1[5-9]|20)\d{2}(?!\d)")
# A capitalised word, or an initial ("E." of "William E. Simon").
_CAP = rf"[{_UPPER}](?:\.(?=[ \-][{_UPPER}])|[\w'’]*)"
# Lowercase particles inside foreign names ("Muhammad ibn Zakarīya Rāzi", "Louis-Joseph de
# Montcalm", "Ludwig van Beethoven", "Abu al-Qasim al-Zahrawi"): only between capitals. Those
# that a Vietnamese syllable typed without marks also spells ("la" là, "de" để, "van" văn) only
# in text that has its marks.
_PARTICLE = r"(?:ibn|bin|bint|al|el|ad|ar|as|az|bar|del|della|der|des|dos|das|von|zu|ter"
_VIETNAMESE_TOO = r"|la|le|de|di|da|du|van|ben|ten"
_NAME = re.compile(rf"(?<!\w){_CAP}(?:(?:[ \-]{_PARTICLE}{_VIETNAMESE_TOO}))*[ \-]{_CAP})+")
_FOLDED_NAME = re.compile(rf"(?<!\w){_CAP}(?:(?:[ \-]{_PARTICLE}))*[ \-]{_CAP})+")


def _names(text: str):
    return (_NAME if has_diacritics(text) else _FOLDED_NAME).finditer(text)


_PLACE = re.compile(
    rf"(?:tại|ở|trên địa bàn|tỉnh|thành phố|huyện|xã|quận)\s+"
    rf"([{_UPPER}][\w]*(?:\s[{_UPPER}][\w]*)*)"
)
# Capitalised words of titles and institutions: trimmed from the front of a name...
_TITLE_WORDS = frozenset(
    canonical(w)
    for w in """
Đảng Khối Ban Bí Thư Phó Trưởng Thường Trực Ủy Uỷ Viên Hội Nghị Chương Trình Kế Hoạch
Đại Trung Ương Thành Tỉnh Nhà Nước Chính Phủ Quốc Bộ Sở Cơ Quan Doanh Nghiệp Đồng Chí
Ông Bà TP Chấp Hành UBND HĐND BCH TUV Chủ Tịch Tổng Giám Đốc Văn Phòng Quyết Chỉ Thị
Công Tác
""".split()
)
# ...and, never part of a person's name, a reason to reject the run.
_NOT_NAME = frozenset(
    canonical(w)
    for w in """
Đảng Khối Ban Ủy Uỷ Hội Nghị Chương Trình Kế Hoạch Bộ Sở Cơ Quan Doanh Nghiệp TP UBND
HĐND BCH TUV Thường Trực Phó Trưởng Bí Thư Chủ Tịch Tỉnh Phòng Nhà Nước Chính Phủ
""".split()
)


_SURNAMES = frozenset(
    canonical(w)
    for w in """
Nguyễn Trần Lê Phạm Hoàng Huỳnh Phan Vũ Võ Đặng Bùi Đỗ Hồ Ngô Dương Lý Phùng Đinh Trịnh
Đào Mai Tô Lưu Cao Lâm Chu Tạ Thái Đoàn Lương Vương Trương Kiều Quách Triệu Văn Hứa Lã
Mạc Khổng Giang Hà Tăng Thân Tôn Nông Lò Lục Âu Doãn Đàm Kim Lại Tống Quan Châu Từ
Nghiêm Khúc Thạch Diệp
""".split()
)


# Capitalised runs that are places, not people: known names, and runs after a place word.
_PLACES = frozenset(
    canonical(w)
    for w in (
        "Hà Nội",
        "Việt Nam",
        "Hải Phòng",
        "Đà Nẵng",
        "Cần Thơ",
        "Sài Gòn",
        "Điện Biên",
        "Quảng Ngãi",
        "Quảng Ninh",
        "Thanh Hóa",
        "Nghệ An",
        "Huế",
        "Hà Giang",
        "Lào Cai",
    )
)
_PLACE_BEFORE = re.compile(r"(?:TP\.?|Tp\.?|tỉnh|thành phố|huyện|quận|xã|tại|ở)\s*$", re.I)


def number_spans(sentence: str) -> list[tuple[int, int]]:
    """Numbers of the sentence, with their multiplier or percent sign ("50 nghìn", "13,5%"). A
    bare year ("2021 - 2025") answers "năm nào", not "bao nhiêu"."""
    return [m.span() for m in _NUMBER.finditer(sentence) if not _YEAR.fullmatch(m.group())]


def date_spans(sentence: str) -> list[tuple[int, int]]:
    """Dates of the sentence, not inside a term of office ("nhiệm kỳ 2020 - 2025")."""
    ranges = [m.span() for m in _YEAR_RANGE.finditer(sentence)]
    return [
        m.span()
        for m in _DATE.finditer(sentence)
        if not any(a <= m.start() and m.end() <= b for a, b in ranges)
    ]


# A quoted stretch: “…”, «…», "…" (straight quotes paired in order).
_QUOTED = re.compile(r"“[^”]*”|«[^»]*»|\"[^\"]*\"")


def quoted_ranges(text: str) -> list[tuple[int, int]]:
    """Where `text` quotes something: a document's title, a slogan, a campaign's name."""
    return [m.span() for m in _QUOTED.finditer(text)]


def in_quotes(text: str, start: int, end: int) -> bool:
    """Whether `text[start:end]` lies inside a quoted stretch of `text`. A name there belongs to
    the title or slogan quoted ("học tập và làm theo tư tưởng, đạo đức, phong cách …"), not to
    whoever did what a "who" question asks: on the XQuAD-vi tune half, none of the 76 "who"
    answers lies inside quotes."""
    return any(a < start and end < b for a, b in quoted_ranges(text))


def person_spans(sentence: str) -> list[tuple[int, int]]:
    """People's names of the sentence: runs of capitalised words without the titles before
    them, starting at a surname when one is there ("Bí thư … Lê Minh Đức" gives "Lê Minh Đức"),
    holding no word of an organ and not a place."""
    found = []
    for m in _names(sentence):
        words = m.group().split()
        # Trim leading titles ("Bí thư Đảng uỷ ... Lê Minh Đức" gives "Lê Minh Đức").
        while words and canonical(words[0]) in _TITLE_WORDS:
            words = words[1:]
        # "TP Hà Nội Lê Minh Đức": a name starts at its surname.
        starts = [i for i, w in enumerate(words[:-1]) if canonical(w) in _SURNAMES]
        if starts:
            first = starts[-1]
            while first - 1 in starts:  # "Bùi Võ Quảng": Võ is a surname, so is Bùi
                first -= 1
            words = words[first:]
        name = " ".join(words)
        start = m.end() - len(name)
        if (
            len(words) >= 2
            and not any(canonical(w) in _NOT_NAME for w in words)
            and canonical(name) not in _PLACES
            and not _PLACE_BEFORE.search(sentence[max(0, start - 12) : start])
        ):
            found.append((start, m.end()))
    return found


_FOLDED_TITLE_WORDS = frozenset(fold(w) for w in _TITLE_WORDS)
# Capitalised only because they open the text: "Theo …", "Ai …".
_FOLDED_OPENERS = frozenset(fold(w) for w in QUESTION_WORDS)


def proper_runs(text: str) -> list[tuple[int, int]]:
    """The names `text` says, of any kind: runs of two or more capitalised words after the
    titles before them ("Ông Bùi Văn A" gives "Bùi Văn A", "TP Hà Nội" "Hà Nội"; with or
    without diacritics). A single capital is no name: one opens every sentence, and an organ's
    name capitalises only its first syllables ("Thành ủy")."""
    found = []
    for m in _names(text):
        words = m.group().split()
        lead = int(not text[: m.start()].strip() and fold(canonical(words[0])) in _FOLDED_OPENERS)
        while lead < len(words) and fold(canonical(words[lead])) in _FOLDED_TITLE_WORDS:
            lead += 1
        if len(words) - lead >= 2:
            found.append((m.end() - len(" ".join(words[lead:])), m.end()))
    return found


def typed_spans(
    kind: str,
    sentence: str,
    question: str | Question,
    idf: Callable[[str], float] | None = None,
) -> list[tuple[int, int]]:
    """Candidate answering spans of `kind` in the sentence, leaving out what the question says
    (the question as typed, or as the answerer parsed it once)."""
    question = _parsed(question)
    q_folded = question.folded
    found: list[tuple[int, int]] = []
    if kind == "number":
        found = number_spans(sentence)
    elif kind == "date":
        found = date_spans(sentence)
        # "… xảy ra khi nào?" is answered by a time or by a condition: "khi <clause>".
        if _WHEN.search(q_folded) and question.grain is None:
            found += [m.span() for m in _CONDITION.finditer(sentence)]
    elif kind == "person":
        found = person_spans(sentence)
    elif kind == "place":
        found = [m.span(1) for m in _PLACE.finditer(sentence)]
    # Whole words only: "ba" (three) is not said by a question asking "bao nhiêu".
    said = _words(q_folded)
    found = [(s, e) for s, e in found if _words(fold(sentence[s:e]).lower()) not in said]
    return rank_spans(kind, sentence, question, found, idf)


def _parsed(question: str | Question) -> Question:
    from rag.answer.question import Question

    return Question.parse(question) if isinstance(question, str) else question


def _words(text: str) -> str:
    """The text's words between single spaces, with a space at each end (a whole-word key)."""
    return " " + " ".join(re.findall(r"\w+", text)) + " "


_CLAUSE_BREAK = re.compile(r"[;:]|,\s|\s[-–]\s")


def rank_spans(
    kind: str,
    sentence: str,
    question: str | Question,
    spans: list[tuple[int, int]],
    idf: Callable[[str], float] | None = None,
) -> list[tuple[int, int]]:
    """Best first: a number of the unit the question asks about ('594 chi bộ'), then the span
    whose clause shares the most (IDF-weighted) with the question ("kim ngạch nhập khẩu đạt
    1.183,7" over "xuất khẩu đạt 2.2" for a question on imports), then the nearest one."""
    if len(spans) < 2:
        return spans
    question = _parsed(question)
    weight = idf or flat_idf
    folded = fold(sentence).lower()
    asked = set(question.folded_terms)
    anchors = [
        m.start() for term in asked for m in re.finditer(rf"(?<!\w){re.escape(term)}(?!\w)", folded)
    ]
    breaks = [0] + [m.end() for m in _CLAUSE_BREAK.finditer(sentence)] + [len(sentence) + 1]
    units = question.unit if kind == "number" else ()
    head = question.head if units else 1

    def clause_score(span: tuple[int, int]) -> float:
        start = max(b for b in breaks if b <= span[0])
        end = min((b for b in breaks if b > span[1]), default=len(sentence))
        words = set(terms(sentence[start:end], folded=True))
        return sum(weight(t) for t in asked & words)

    grain = question.grain if kind == "date" else None

    def key(span: tuple[int, int]) -> tuple[int, float, int]:
        if kind == "number":
            fit = unit_fit(sentence, span, units, head) if units else 0
        elif grain is not None:  # "ngày nào" wants a day, "năm nào" a year
            fit = int(grain.search(sentence[span[0] : span[1]]) is not None)
        else:  # "khi nào" asks when an event took place: its day before a year it names
            fit = int(kind == "date" and _DAY.search(sentence[span[0] : span[1]]) is not None)
        distance = min((abs(a - span[0]) for a in anchors), default=0)
        return (-fit, -clause_score(span), distance)

    return sorted(spans, key=key)


def unit_fit(sentence: str, span: tuple[int, int], unit: Sequence[str], head: int = 1) -> int:
    """How well the number at `span` counts what the question asks about: 2 when both words of
    the unit follow it ('594 chi bộ') or a unit of the money or time asked for does ('5 triệu
    đô la' for 'bao nhiêu tiền'), 1 for the first word only or the unit a few words before it
    ('ở tuổi 39'), 0 for none. `head`: the syllables of the unit's first word (rag.question.
    unit_head), all of which must follow the number."""
    unit = list(unit)  # compared with lists of the sentence's words
    if unit[:2] == ["phan", "tram"]:
        return 2 if sentence[span[0] : span[1]].rstrip().endswith("%") else 0
    after = re.findall(r"\w+", fold(canonical(sentence[span[1] : span[1] + 40])))
    before = re.findall(r"\w+", fold(canonical(sentence[max(0, span[0] - 30) : span[0]])))
    if len(unit) > 1 and after[:2] == unit[:2]:
        return 2
    # "bao nhiêu tiền" and "5 triệu đô la", "bao nhiêu thời gian" and "17 giây".
    kind = _UNIT_KINDS.get(" ".join(unit[:2])) or _UNIT_KINDS.get(unit[0])
    if kind and after[:1] and after[0].lower() in kind:
        return 2
    if head > 1 and after[:1] == unit[:1] and after[:head] != unit[:head]:
        # "bao nhiêu đảng viên" is not answered by "159 đảng bộ": the first syllable of a
        # compound unit followed by another one names something else.
        return 2 if _near(unit[:head], before) else 0
    # "giải Grammy sáu lần": the unit may stand a few words before the number.
    return 1 if after[:1] == unit[:1] or unit[0] in before[-3:] else 0


def _near(unit: list[str], before: list[str]) -> bool:
    """The unit written just before the number ("số đảng viên là 58")."""
    return " ".join(unit) in " ".join(before[-5:])


# Words that ask for an amount of money or of time (folded), and the units that give one.
_MONEY = frozenset("dong vnd usd do euro eur bang yen te won rup ringgit bat".split())
_TIME = frozenset("giay phut gio ngay tuan thang nam the thap".split())
_UNIT_KINDS = {
    "tien": _MONEY,
    "kinh phi": _MONEY,
    "chi phi": _MONEY,
    "von": _MONEY,
    "gia": _MONEY,
    "ngan sach": _MONEY,
    "thoi gian": _TIME,
}
