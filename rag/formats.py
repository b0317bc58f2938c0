"""The text of a file's bytes, by format: plain text in its encoding, HTML, PDF, DOCX.

In: the bytes of one file and its suffix. Out: its text, exactly as the reader would display it,
and for HTML the page's own hints (title, raw published date, author, outlet). Raises
DocumentError with a Vietnamese reason for anything undecodable, damaged, encrypted or empty.
Never unpacks a zip that would grow far beyond its size, never guesses a code page that does not
yield Vietnamese.
"""

from __future__ import annotations

import codecs
import io
import re
import zipfile

from rag.errors import DocumentError, describe
from rag.text import nfc

NOT_TEXT = "không phải tệp văn bản"
UNDECODABLE = "không giải mã được (cần UTF-8, UTF-16 hoặc Windows-1258)"
NO_TEXT = "không có nội dung văn bản"
# A .docx is a zip: refuse one that would unpack to far more than it weighs (a zip bomb).
MAX_UNPACKED_BYTES = 100 * 1024 * 1024
MAX_PACK_RATIO = 100

_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 12, 13)) + b"\x7f"
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
_VIETNAMESE_LETTERS = frozenset(
    nfc(base + tone)
    for vowel in "aăâeêioôơuưy"
    for base in (vowel, vowel.upper())
    for tone in ("", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323")
) | frozenset("đĐ")
_CP1258_PUNCTUATION = frozenset("“”‘’–—…•«»°·€™©®§\xa0")


def text_of(data: bytes, suffix: str) -> tuple[str, dict[str, str | None]]:
    """The text of a file with this (lower-case, supported) suffix, and its format's hints."""
    if suffix in (".txt", ".md"):
        return decode(data), {}
    if suffix in (".html", ".htm"):
        return _html_text_and_hints(data)
    if suffix == ".pdf":
        return _pdf_text(data), {}
    return _docx_text(data), {}


def decode(data: bytes) -> str:
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
    """The published time as the page writes it (`cleaning.date_in` reads it)."""
    found = soup.find("meta", attrs={"property": "article:published_time"}) or soup.find(
        attrs={"itemprop": "datePublished"}
    )
    if found is None:
        return None
    return found.get("content") or found.get("datetime") or found.get_text() or None


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
