"""Load article files of every supported type, clean them and read their metadata.

In: a file or a folder of .txt/.md/.html/.htm/.pdf/.docx. Out: `Article`s (original text, title,
body spans, author, outlet, date, content hash) and a Vietnamese reason for each file that failed.
Never changes the displayed text: cleaning only chooses spans, every offset points into `Article.text`.
Never reads what resolves outside the folder being ingested, what is not a regular file (nothing can
block) or more bytes than the size limit; never drops a file without a reason.
"""

from __future__ import annotations

import codecs
import errno
import hashlib
import io
import os
import re
import stat
import zipfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import NamedTuple

from rag.errors import DocumentError, describe, too_large
from rag.text import nfc
from rag.types import Article

SUPPORTED_SUFFIXES = (".txt", ".md", ".html", ".htm", ".pdf", ".docx")

EMPTY_FILE = "tệp rỗng"
NOT_TEXT = "không phải tệp văn bản"
UNDECODABLE = "không giải mã được (cần UTF-8, UTF-16 hoặc Windows-1258)"
NO_TEXT = "không có nội dung văn bản"
NOTHING_LEFT = "không còn nội dung sau khi làm sạch"
OUTSIDE_ROOT = "liên kết trỏ ra ngoài thư mục đang nạp, không đọc"
NOT_REGULAR = "không phải tệp thường"
# An article is kilobytes; a file this large is a mistake or an attack, and would stall ingest.
MAX_FILE_BYTES = 20 * 1024 * 1024
# A .docx is a zip: refuse one that would unpack to far more than it weighs (a zip bomb).
MAX_UNPACKED_BYTES = 100 * 1024 * 1024
MAX_PACK_RATIO = 100


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

_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 12, 13)) + b"\x7f"
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
_VIETNAMESE_LETTERS = frozenset(
    nfc(base + tone)
    for vowel in "aăâeêioôơuưy"
    for base in (vowel, vowel.upper())
    for tone in ("", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323")
) | frozenset("đĐ")
_CP1258_PUNCTUATION = frozenset("“”‘’–—…•«»°·€™©®§\xa0")


# --- public API -------------------------------------------------------------------------------


def iter_document_paths(root: Path) -> list[Path]:
    """Supported files under `root`, sorted, skipping hidden files and folders; a file gives [root].

    Only directory listings are read, so nothing here can block on a FIFO or a device. Symlinked
    folders are never entered; one that leads outside `root` is listed itself, so that the caller
    reports it by name (`source_problem` gives the reason) instead of dropping it silently.
    """
    if not root.is_dir():
        if os.path.lexists(root):
            return [root]
        raise DocumentError(f"không tìm thấy tệp hoặc thư mục: {root}")
    base = os.path.realpath(root)
    found = []
    for dirpath, dirnames, filenames in os.walk(root):  # followlinks=False: no cycles, no escape
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in dirnames:
            folder = os.path.join(dirpath, name)
            if os.path.islink(folder) and not _inside(os.path.realpath(folder), base):
                found.append(Path(folder))
        for name in filenames:
            # "~$" files are Word's lock files, not documents.
            if name.startswith((".", "~$")):
                continue
            if os.path.splitext(name)[1].lower() in SUPPORTED_SUFFIXES:
                found.append(Path(dirpath, name))
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


def source_problem(path: Path, root: Path, max_bytes: int = MAX_FILE_BYTES) -> str | None:
    """Why `path` must not be read as part of the folder `root`, as one Vietnamese line, or None.

    Refused: anything that resolves outside `root` (a symlink, or a symlinked folder on the way),
    anything that is not a regular file (FIFO, socket, device, folder), a file over `max_bytes`,
    an unreadable file. Uses only lstat/stat/realpath/access: never opens `path`, never blocks.
    """
    try:
        os.lstat(path)
        resolved = os.path.realpath(path)
        if not _inside(resolved, os.path.realpath(_folder_of(root))):
            return OUTSIDE_ROOT
        info = os.stat(resolved)
    except OSError as exc:
        return _unreadable(exc)
    if not stat.S_ISREG(info.st_mode):
        return _not_regular(info.st_mode)
    if info.st_size > max_bytes:
        return too_large(info.st_size, max_bytes)
    if not os.access(resolved, os.R_OK):
        return _unreadable(PermissionError(errno.EACCES, os.strerror(errno.EACCES)))
    return None


def load_document(path: Path, root: Path, max_bytes: int = MAX_FILE_BYTES) -> Article:
    """Load one file; raises DocumentError (never another exception) when it cannot be ingested."""
    problem = source_problem(path, root, max_bytes)
    if problem:
        raise DocumentError(problem)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise DocumentError(f"loại tệp không được hỗ trợ: {suffix or '(không có đuôi)'}")
    data = _read_regular_file(Path(os.path.realpath(path)), max_bytes)
    if not data:
        raise DocumentError(EMPTY_FILE)

    hints: dict[str, str | None] = {}
    if suffix in (".txt", ".md"):
        text = _decode(data)
    elif suffix in (".html", ".htm"):
        text, hints = _html_text_and_hints(data)
    elif suffix == ".pdf":
        text = _pdf_text(data)
    else:
        text = _docx_text(data)

    meta = _analyse(text, markdown=suffix == ".md", title_hint=hints.get("title"))
    return Article(
        doc_id=_doc_id(path, root),
        source=str(path.absolute()),
        text=text,
        title=meta.title,
        body=meta.body,
        author=meta.author or hints.get("author"),
        outlet=meta.outlet or hints.get("outlet"),
        date=hints.get("date") or meta.date,
        content_hash=hashlib.sha256(data).hexdigest(),
    )


def load_documents(root: Path) -> tuple[list[Article], list[tuple[str, str]]]:
    """Every loadable article under `root`, and (doc_id, reason) for each file that was skipped."""
    articles: list[Article] = []
    errors: list[tuple[str, str]] = []
    for path in iter_document_paths(root):
        try:
            articles.append(load_document(path, root))
        except DocumentError as exc:
            errors.append((_doc_id(path, root), str(exc)))
    return articles, errors


def _read_regular_file(path: Path, max_bytes: int) -> bytes:
    """The bytes of `path`, checked again on the open file: the name may have been swapped for a
    link, a FIFO or a bigger file since `source_problem` looked at it."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise DocumentError(_unreadable(exc)) from exc
    with open(fd, "rb", closefd=True) as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise DocumentError(_not_regular(info.st_mode))
        if info.st_size > max_bytes:
            raise DocumentError(too_large(info.st_size, max_bytes))
        try:
            # One byte more than allowed tells a file that grew after fstat from one that did not.
            data = handle.read(max_bytes + 1)
        except OSError as exc:
            raise DocumentError(_unreadable(exc)) from exc
    if len(data) > max_bytes:
        raise DocumentError(too_large(len(data), max_bytes))
    return data


def _folder_of(root: Path) -> Path:
    """The folder being ingested: `root` itself, or the folder of a single file."""
    return root if root.is_dir() else root.parent


def _inside(resolved: str, base: str) -> bool:
    return resolved == base or resolved.startswith(base.rstrip(os.sep) + os.sep)


_KINDS = (
    (stat.S_ISDIR, "thư mục"),
    (stat.S_ISFIFO, "FIFO"),
    (stat.S_ISSOCK, "socket"),
    (stat.S_ISCHR, "thiết bị"),
    (stat.S_ISBLK, "thiết bị"),
)


def _not_regular(mode: int) -> str:
    kind = next((name for test, name in _KINDS if test(mode)), "tệp đặc biệt")
    return f"{NOT_REGULAR} ({kind})"


_OS_REASONS = {
    errno.ENOENT: "không tìm thấy tệp",
    errno.EACCES: "không có quyền đọc",
    errno.EPERM: "không có quyền đọc",
    errno.ELOOP: "vòng lặp liên kết tượng trưng",
    errno.ENAMETOOLONG: "đường dẫn quá dài",
}


def _unreadable(exc: OSError) -> str:
    reason = _OS_REASONS.get(exc.errno) or exc.strerror or type(exc).__name__
    return f"không đọc được tệp: {reason}"


def _doc_id(path: Path, root: Path) -> str:
    if root.is_file():
        return path.name
    try:
        return path.absolute().relative_to(root.absolute()).as_posix()
    except ValueError:
        return path.name


# --- decoding ---------------------------------------------------------------------------------


def _decode(data: bytes) -> str:
    """Text of a .txt/.md file: UTF-8 (with or without BOM), UTF-16/32 with BOM, UTF-16 without
    BOM, or Windows-1258 (then NFC, because that code page writes tone marks as combining marks)."""
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return _decode_wide(data, "utf-32")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _decode_wide(data, "utf-16")
    if b"\x00" in data:
        return _decode_wide(data, _utf16_without_bom(data))
    if len(data) - len(data.translate(None, _CONTROL_BYTES)) > _control_allowance(len(data)):
        raise DocumentError(NOT_TEXT)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        text = nfc(data.decode("cp1258"))
    except UnicodeDecodeError as exc:
        raise DocumentError(UNDECODABLE) from exc
    if not _plausible_vietnamese(text):
        raise DocumentError(UNDECODABLE)
    return text


def _decode_wide(data: bytes, codec: str) -> str:
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as exc:
        raise DocumentError(UNDECODABLE) from exc
    if len(_CONTROL_CHARS.findall(text)) > _control_allowance(len(text)):
        raise DocumentError(NOT_TEXT)
    return text


def _utf16_without_bom(data: bytes) -> str:
    """UTF-16 puts a NUL in the high byte of every ASCII character, so NULs crowd one parity."""
    half = len(data) // 2
    if len(data) % 2 or half == 0:
        raise DocumentError(NOT_TEXT)
    even, odd = data[0::2].count(0), data[1::2].count(0)
    if odd > 0.2 * half and even < 0.02 * half:
        return "utf-16-le"
    if even > 0.2 * half and odd < 0.02 * half:
        return "utf-16-be"
    raise DocumentError(NOT_TEXT)


def _control_allowance(length: int) -> int:
    return 2 + length // 200


def _plausible_vietnamese(text: str) -> bool:
    """A wrong code page yields letters outside the Vietnamese alphabet or stray combining marks."""
    non_ascii = [ch for ch in text if ord(ch) > 127]
    vietnamese = sum(ch in _VIETNAMESE_LETTERS for ch in non_ascii)
    usual = vietnamese + sum(ch in _CP1258_PUNCTUATION for ch in non_ascii)
    return vietnamese > 0 and usual >= 0.95 * len(non_ascii)


# --- other formats ----------------------------------------------------------------------------

_HTML_DROP = frozenset(
    {"script", "style", "nav", "header", "footer", "aside", "form", "noscript", "template",
     "iframe", "svg", "button"}
)  # fmt: skip
_HTML_BLOCKS = frozenset(
    {"address", "article", "blockquote", "body", "caption", "dd", "details", "div", "dl", "dt",
     "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "li", "main", "ol", "p",
     "section", "summary", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul"}
)  # fmt: skip
_INLINE_SPACE = re.compile(r"\s+")
_BLANK_RUN = re.compile(r"\n{3,}")


def _html_text_and_hints(data: bytes) -> tuple[str, dict[str, str | None]]:
    from bs4 import BeautifulSoup

    try:
        soup = BeautifulSoup(data, "lxml")
        articles = soup.find_all("article")
        if articles:
            container = max(articles, key=lambda a: len(a.get_text()))
        else:
            container = soup.find("main") or soup.body or soup
        text = _html_block_text(container)
        heading = soup.find("h1")
        title = _html_block_text(heading) if heading else ""
        if not title and soup.title:
            title = " ".join(soup.title.get_text().split())
        hints = {
            "title": title or None,
            "date": _html_date(soup),
            "author": _meta(soup, name="author"),
            "outlet": _meta(soup, property="og:site_name"),
        }
    except RecursionError as exc:
        raise DocumentError("tệp HTML lồng quá sâu, không đọc được") from exc
    if not text.strip():
        raise DocumentError(NO_TEXT)
    if title and title not in text.split("\n"):
        # The page's <h1> sits outside the main container (often in a dropped <header>).
        text = f"{title}\n\n{text}"
    return text, hints


def _html_block_text(node) -> str:
    """Text of an element: one line per block, a blank line between blocks, <br> as a newline."""
    parts: list[str] = []
    _collect_html_text(node, parts)
    lines = (" ".join(line.split()) for line in "".join(parts).split("\n"))
    return _BLANK_RUN.sub("\n\n", "\n".join(lines)).strip()


def _collect_html_text(node, parts: list[str]) -> None:
    from bs4 import NavigableString, Tag

    for child in node.children:
        if isinstance(child, Tag):
            if child.name in _HTML_DROP:
                continue
            if child.name == "br":
                parts.append("\n")
            elif child.name == "pre":
                parts.append("\n\n" + child.get_text() + "\n\n")
            elif child.name in _HTML_BLOCKS:
                parts.append("\n\n")
                _collect_html_text(child, parts)
                parts.append("\n\n")
            else:
                _collect_html_text(child, parts)
        elif type(child) is NavigableString:  # comments, doctype, CDATA are subclasses
            parts.append(_INLINE_SPACE.sub(" ", child))


def _html_date(soup) -> str | None:
    found = soup.find("meta", attrs={"property": "article:published_time"}) or soup.find(
        attrs={"itemprop": "datePublished"}
    )
    if found is None:
        return None
    value = found.get("content") or found.get("datetime") or found.get_text()
    match = _DATE.search(value or "")
    return _match_date(match) if match else None


def _meta(soup, **attrs: str) -> str | None:
    found = soup.find("meta", attrs=attrs)
    value = " ".join((found.get("content") or "").split()) if found else ""
    return value or None


def _pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    # pypdf raises many exception types on damaged files; all mean the same thing to the user.
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise DocumentError("tệp PDF được mã hoá")
        text = "\n\n".join(page.extract_text() or "" for page in reader.pages)
    except DocumentError:
        raise
    except Exception as exc:
        raise DocumentError(f"tệp PDF hỏng: {describe(exc)}") from exc
    if not text.strip():
        raise DocumentError(NO_TEXT)
    return text


def _check_zip(data: bytes) -> None:
    """Refuse a zip whose entries would unpack to too much, before any library unpacks it."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise DocumentError(f"tệp DOCX hỏng: {describe(exc)}") from exc
    if unpacked > MAX_UNPACKED_BYTES or unpacked > MAX_PACK_RATIO * max(len(data), 1):
        raise DocumentError(
            f"tệp nén bất thường: {len(data):,} byte giải nén thành {unpacked:,} byte "
            "(có thể là zip bomb)"
        )


def _docx_text(data: bytes) -> str:
    from docx import Document

    _check_zip(data)

    # python-docx lets zipfile, lxml and KeyError exceptions through on damaged files.
    try:
        text = "\n".join(paragraph.text for paragraph in Document(io.BytesIO(data)).paragraphs)
    except Exception as exc:
        raise DocumentError(f"tệp DOCX hỏng: {describe(exc)}") from exc
    if not text.strip():
        raise DocumentError(NO_TEXT)
    return text


# --- cleaning and metadata --------------------------------------------------------------------


class _Line(NamedTuple):
    start: int  # first non-space character
    end: int  # after the last non-space character
    content: str  # text[start:end]; "" for a blank line


@dataclass(frozen=True)
class _Meta:
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


def _analyse(text: str, *, markdown: bool = False, title_hint: str | None = None) -> _Meta:
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
    return _Meta(title, body, author, outlet, published)


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
