"""Cleaning and metadata of an article's text: which lines are its body, its title and byline.

In: the text of one file (and the title its format names, if any). Out: `Meta`: the title,
the body as spans of kept lines, and the author, outlet and published date when the header or
the lead's dateline gives them. Boilerplate (share buttons, counters, tags), breadcrumbs, date
lines and doubled lines are left out of the body. Never changes the text: every span and the
title are exact slices of it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

from rag.errors import DocumentError
from rag.formats import NO_TEXT

NOTHING_LEFT = "không còn nội dung sau khi làm sạch"

# Whole-line boilerplate. A line is dropped when it consists only of these fragments and
# separators, so "Lượt xem: 9709 In bài viết" goes while "Chia sẻ với báo chí, ông..." stays.
BOILERPLATE: tuple[re.Pattern[str], ...] = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        r"chia sẻ(?:\s+(?:bài viết|qua|lên))?(?:\s+(?:zalo|facebook|twitter|email))*",
        r"(?:gửi\s+)?bình luận(?:\s*\(\d+\))?",
        r"back to top|(?:về|lên) đầu trang",
        r"(?:tags?|từ kho[áa])(?:\s*:.*)?",
        r"(?:xem\s+)?link gốc",
        r"in bài(?: viết)?|bản in|print",
        r"(?:số\s+)?lượt (?:xem|đọc)\s*:?\s*\d[\d.,]*|\d[\d.,]*\s+lượt (?:xem|đọc)",
        r"(?:xem|đọc) thêm(?:\s*[:>»].*)?|(?:tin|bài) (?:liên quan|cùng chuyên mục)\s*:?",
        r"(?:mời\b.{0,40}?)?theo dõi\b.{0,100}?\b(?:google news|zalo|facebook|youtube|tiktok|fanpage)\b.{0,60}",
        r"facebook|zalo|twitter|e-?mail|in|copy link|sao chép (?:liên kết|link)|báo lỗi|lưu bài",
    )
)
_BOILERPLATE_ANY = re.compile(
    r"(?<!\w)(?:" + "|".join(f"(?:{p.pattern})" for p in BOILERPLATE) + r")(?!\w)", re.IGNORECASE
)
_SEPARATORS_ONLY = re.compile(r"[\s|·•,:;\-–—/>»›()\[\]]*")
_SEPARATOR_CHARS = " \t|·•,:;-–—/>»›"
_MAX_BOILERPLATE_LINE = 200

# Python's str.strip() leaves zero-width characters, which scraped pages put at line edges.
_SPACE = (
    "".join(chr(c) for c in range(0x3001) if chr(c).isspace()) + "\u200b\u200c\u200d\u2060\ufeff"
)

_DATE = re.compile(
    r"(?<!\d)(?:(?P<d>\d{1,2})[/.\-](?P<m>\d{1,2})[/.\-](?P<y>\d{4})"
    r"|(?P<iy>\d{4})-(?P<im>\d{1,2})-(?P<id>\d{1,2})"
    r"(?:[T ]\d{1,2}:\d{2}(?::\d{2})?(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?)?)(?!\d)"
)
_DATE_LINE_NOISE = re.compile(
    r"(?<!\w)(?:\d{1,2}:\d{2}(?::\d{2})?(?:\s*(?:am|pm|sa|ch))?|thứ\s+(?:hai|ba|tư|năm|sáu|bảy|\d)"
    r"|chủ\s+nhật|\(?gmt\s*[+-]\s*\d{1,2}(?::?\d{2})?\)?|cập nhật|ngày đăng|đăng ngày|đăng lúc"
    r"|xuất bản|ngày|lúc)(?!\w)",
    re.IGNORECASE,
)
_MAX_DATE_LINE = 160
_CREDIT = re.compile(
    r"^(?:bài\s*(?:(?:và|,|&|\+)\s*ảnh)?|ảnh|tin\s*(?:(?:và|,|&|\+)\s*ảnh)?|tác giả|thực hiện"
    r"|nhóm (?:pv|phóng viên)|pv|ctv)\s*:\s*",
    re.IGNORECASE,
)
_NAME_WORD = re.compile(r"[^\W\d_][\w.'’\-]*")
_NAME_JOINERS = frozenset({"-", "–", "&", ",", "và"})
_OUTLET = re.compile(r"(?:\((?P<paren>[^()\n]{2,30})\)|(?P<word>[^\W\d_][\w.]{1,29}))\s*[-–—]\s*")
_LEAD_DATE = re.compile(
    r"(?:(?:rạng\s+)?(?:sáng|chiều|tối|trưa|đêm|ngày|hôm nay|hôm qua)\s+(?:nay\s+)?(?:ngày\s+)?)?"
    r"(?P<d>\d{1,2})(?P<sep>[/-])(?P<m>\d{1,2})(?:(?P=sep)(?P<y>\d{4}))?(?![\d/])",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"[.!?…](?=\s|$)")
_YEAR_RANGE = re.compile(r"(?<!\d)(?:19|20)\d{2}\s*[-–—]\s*(?:19|20)\d{2}(?!\d)")
_YEAR = re.compile(r"(?<![\d/\-.])(?:19|20)\d{2}(?![\d/\-])")
_MAX_TITLE = 250
_NEWLINE = re.compile(r"\r\n|\r|\n")
_LONE_CR = re.compile(r"\r(?!\n)")
_MD_HEADING = re.compile(r"#+[ \t]*")


class _Line(NamedTuple):
    start: int  # first non-space character
    end: int  # after the last non-space character
    content: str  # text[start:end]; "" for a blank line


@dataclass(frozen=True)
class Meta:
    title: str
    body: tuple[tuple[int, int], ...]
    author: str | None
    outlet: str | None
    date: str | None


def _split_lines(text: str) -> list[_Line]:
    if "\r" in text and _LONE_CR.search(text):
        pieces = []
        position = 0
        for match in _NEWLINE.finditer(text):
            pieces.append((position, text[position : match.start()]))
            position = match.end()
        pieces.append((position, text[position:]))
    else:
        # "\r\n" needs no care here: "\r" is in _SPACE, so it never enters a line's content.
        pieces = []
        position = 0
        for raw in text.split("\n"):
            pieces.append((position, raw))
            position += len(raw) + 1
    lines = []
    for position, raw in pieces:
        content = raw.strip(_SPACE)
        start = position + len(raw) - len(raw.lstrip(_SPACE)) if content else position
        lines.append(_Line(start, start + len(content), content))
    return lines


def analyse(text: str, *, markdown: bool = False, title_hint: str | None = None) -> Meta:
    lines = _split_lines(text)
    filled = [i for i, line in enumerate(lines) if line.content]
    if not filled:
        raise DocumentError(NO_TEXT)
    dropped: set[int] = set()
    author = outlet = published = None

    position = _title_position(lines, filled, title_hint)
    for i in filled[:position]:
        if _is_short_label(lines[i].content):
            dropped.add(i)
    title_line = lines[filled[position]]
    title_start, title_end = _title_bounds(title_line, markdown)
    title = text[title_start:title_end]

    lead = None
    if title_end - title_start <= _MAX_TITLE:
        dropped.add(filled[position])
        for i in filled[position + 1 :]:
            content = lines[i].content
            if _is_boilerplate(content):
                dropped.add(i)
            elif dated := _date_line(content):
                dropped.add(i)
                published = published or dated[0]
                author = author or dated[1]
            elif author is None and (name := _byline(content)):
                dropped.add(i)
                author = name
            else:
                lead = i
                break
    else:
        # No title line: the first line is content, so the title is its first sentence.
        title = _first_sentence(title_line.content)
        lead = filled[position]

    if lead is not None:
        outlet, lead_date = _lead_metadata(lines[lead].content)
        published = published or lead_date
        for i in filled:
            if i > lead and _is_boilerplate(lines[i].content):
                dropped.add(i)
        trailer = next((i for i in reversed(filled) if i not in dropped), lead)
        if trailer > lead and (name := _byline(lines[trailer].content)):
            dropped.add(trailer)
            author = author or name

    previous = None
    for i in filled:
        if lines[i].content == previous:
            dropped.add(i)
        previous = lines[i].content

    body = _runs(lines, dropped)
    if not body and not _is_boilerplate(title_line.content):
        # Only the title line has content ("ViMedAQA v2" + one line, or a one-line file): that
        # line is the document, so it is the body; a label above it, if any, names it.
        dropped.discard(filled[position])
        body = _runs(lines, dropped)
        labels = [i for i in filled[:position] if i in dropped]
        if labels:
            title = lines[labels[-1]].content
    if not body:
        raise DocumentError(NOTHING_LEFT)
    return Meta(title, body, author, outlet, published)


def _title_position(lines: list[_Line], filled: list[int], title_hint: str | None) -> int:
    """Index into `filled` of the title line: the given title, else the first line that is not
    a category breadcrumb such as "Chính trịXây dựng Đảng"."""
    if title_hint:
        for position, i in enumerate(filled):
            if lines[i].content == title_hint:
                return position
    position = 0
    while position + 1 < len(filled) and _is_breadcrumb(lines[filled[position]].content):
        position += 1
    return position


def _title_bounds(line: _Line, markdown: bool) -> tuple[int, int]:
    start, end = line.start, line.end
    if markdown and (heading := _MD_HEADING.match(line.content)):
        start += heading.end()
        inner = line.content[heading.end() :]
        end = start + len(inner.rstrip("# \t"))
        if end <= start:  # a lone "#": keep the line itself as the title
            start, end = line.start, line.end
    return start, end


def _first_sentence(content: str) -> str:
    end = _SENTENCE_END.search(content)
    if end and end.end() <= _MAX_TITLE:
        return content[: end.end()]
    cut = content.rfind(" ", 0, 120)
    return content[: cut if cut > 0 else 120]


def _is_breadcrumb(content: str) -> bool:
    """Category trails: "Thời sự > Chính trị", or names glued by the scraper: "Chính trịXây dựng"."""
    if len(content) > 60 or len(content.split()) > 8 or content[-1] in ".!?:;":
        return False
    if any(sep in content for sep in (" > ", " » ", " › ", " / ")):
        return True
    return any(
        content[i - 1].isalpha() and content[i].islower() and content[i + 1].isupper()
        for i in range(1, len(content) - 1)
    )


def _is_short_label(content: str) -> bool:
    return len(content.split()) <= 8 and content[-1] not in ".!?:;…"


def _is_boilerplate(content: str) -> bool:
    if len(content) > _MAX_BOILERPLATE_LINE:
        return False
    return _SEPARATORS_ONLY.fullmatch(_BOILERPLATE_ANY.sub(" ", content)) is not None


def _date_line(content: str) -> tuple[str, str | None] | None:
    """(date, author) for a header line made of a date, times, weekdays, counters and maybe a
    name, e.g. "25/12/2021 18:01:00 Thùy Dương"; None for any other line."""
    if len(content) > _MAX_DATE_LINE:
        return None
    match = _DATE.search(content)
    if match is None:
        return None
    published = _match_date(match)
    if published is None:
        return None
    rest = _BOILERPLATE_ANY.sub(" ", _DATE_LINE_NOISE.sub(" ", _DATE.sub(" ", content)))
    rest = " ".join(rest.split()).strip(_SEPARATOR_CHARS)
    if not rest:
        return published, None
    name = _byline(rest)
    return (published, name) if name else None


def _byline(content: str) -> str | None:
    """The author's name in a byline such as "SONG GIANG |" or "Bài và ảnh: Xuân Thu", else None."""
    name = content.strip(_SEPARATOR_CHARS)
    credit = _CREDIT.match(name)
    if credit:
        name = name[credit.end() :]
    name = " ".join(name.split()).strip(_SEPARATOR_CHARS)
    if not name or len(name) > 60:
        return None
    words = [w.rstrip(",") for w in name.split() if w not in _NAME_JOINERS]
    low, high = (1, 8) if credit else (2, 6)
    if not low <= len(words) <= high:
        return None
    if all(_NAME_WORD.fullmatch(w) and w[0].isupper() for w in words):
        return name
    return None


def _lead_metadata(content: str) -> tuple[str | None, str | None]:
    """Outlet and date from a dateline such as "Kinhtedothi-Sáng 17/2, ..." or "ĐBP - ..."."""
    outlet = None
    rest = content
    match = _OUTLET.match(content)
    if match and content[match.end() : match.end() + 1].isupper():
        candidate = match.group("paren") or match.group("word")
        if candidate[0].isupper():
            outlet = candidate.strip()
            rest = content[match.end() :]
    dated = _LEAD_DATE.match(rest)
    if dated is None:
        return outlet, None
    year = dated.group("y")
    if year is None:
        sentence_end = _SENTENCE_END.search(rest, dated.end())
        sentence = _YEAR_RANGE.sub(" ", rest[: sentence_end.end() if sentence_end else len(rest)])
        years = _YEAR.findall(sentence)
        year = max(years) if years else None
    if year is None:
        return outlet, None
    return outlet, _iso_date(year, dated.group("m"), dated.group("d"))


def date_in(value: str | None) -> str | None:
    """The first valid date in `value` (17/02/2023, 2023-02-17, 2023-02-17T08:00:00+07:00) as
    ISO, or None."""
    match = _DATE.search(value or "")
    return _match_date(match) if match else None


def _match_date(match: re.Match[str]) -> str | None:
    if match.group("y"):
        return _iso_date(match.group("y"), match.group("m"), match.group("d"))
    return _iso_date(match.group("iy"), match.group("im"), match.group("id"))


def _iso_date(year: str, month: str, day: str) -> str | None:
    try:
        return date(int(year), int(month), int(day)).isoformat()
    except ValueError:
        return None


def _runs(lines: list[_Line], dropped: set[int]) -> tuple[tuple[int, int], ...]:
    """Maximal runs of kept lines; a dropped non-blank line ends a run, blank lines do not."""
    spans = []
    start = end = None
    for i, line in enumerate(lines):
        if not line.content:
            continue
        if i in dropped:
            if start is not None:
                spans.append((start, end))
                start = None
            continue
        if start is None:
            start = line.start
        end = line.end
    if start is not None:
        spans.append((start, end))
    return tuple(spans)
