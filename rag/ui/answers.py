"""Answers and their sources as the chat page shows them, as pure functions.

In: `Answer`s and `Citation`s, a turn's number, an article's text and offsets. Out: the chat's
markdown (linked [n] markers, bold direct answer, the answer's own **bold** and "- " list items
rendered, marked unsupported sentences) and the sources panel's HTML (cards with the cited
sentence highlighted, the cleaned article on demand).
Never shows document text, titles or file names unescaped: all go through `escape` (HTML) or
`md_escape` (the chat's markdown), so an article containing `<script>` shows as text.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rag.dates import display_date
from rag.types import Answer, Citation

NO_SOURCES = '<p class="muted">Nguồn trích dẫn của câu trả lời sẽ hiện ở đây.</p>'


@dataclass(frozen=True)
class Turn:
    """One question of the conversation and its answer."""

    question: str
    answer: Answer
    id: str = ""  # the answer's id: feedback keeps one vote per id


# ---------------------------------------------------------------------------------------------
# Escaping

# Characters that markdown (or Gradio's LaTeX) would turn into markup. As numeric entities they
# render as themselves and no markdown rule can match them.
_MD_ENTITIES = {c: f"&#{ord(c)};" for c in "\\`*_[]#|~$<>&@"}
# At the start of a line: lists ("- ", "+ ", "1. "), setext underlines, code indentation.
_MD_LINE_START = re.compile(r"^[ \t]*([-+=\d])?", re.MULTILINE)


def escape(text: str | None) -> str:
    """Text for HTML: every tag, entity and quote shows as written."""
    return html.escape(text or "", quote=True)


def md_escape(text: str | None, *, line_start: bool = True) -> str:
    """Text for the chat's markdown: shows literally, never becomes a tag, link, list or math.
    `line_start=False` for a fragment that continues a line."""
    out = "".join(_MD_ENTITIES.get(c, c) for c in text or "")
    # Bare URLs would become links (GFM autolinks).
    out = out.replace("://", "&#58;//").replace("www.", "www&#46;")

    def line(m: re.Match) -> str:
        if m.start() == 0 and not line_start:
            return m.group()
        return f"&#{ord(m.group(1))};" if m.group(1) else ""

    return _MD_LINE_START.sub(line, out)


# ---------------------------------------------------------------------------------------------
# Chat messages

_MARKER = re.compile(r"\[(\d+)\]")


def source_anchor(turn: int, n: int) -> str:
    return f"src-{turn}-{n}"


def question_markdown(question: str) -> str:
    return md_escape(question)


def streaming_markdown(text: str) -> str:
    """The answer as it streams in: markers not yet linked; the bold and list items written so
    far already shown as such."""
    return _styled(text, 0, len(text), _markdown_ranges(text))


# The little markdown the answering modules (and an LLM) write: **bold** and "- " list items.
# Only these become markup; every other character of the answer shows as written.
_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
_LIST_ITEM = re.compile(r"^[-*] (?=\S)", re.MULTILINE)
_HIDDEN, _ITEM = "hidden", "item"


def _markdown_ranges(text: str) -> list[tuple[int, int, str]]:
    """(start, end, tag) ranges of `text` for its bold and list items: the asterisks hidden,
    the bold words in <strong>, a list item's dash kept as markdown's list marker."""
    ranges: list[tuple[int, int, str]] = []
    for m in _BOLD.finditer(text):
        ranges += [
            (m.start(), m.start(1), _HIDDEN),
            (m.start(1), m.end(1), "strong"),
            (m.end(1), m.end(), _HIDDEN),
        ]
    ranges += [(m.start(), m.end(), _ITEM) for m in _LIST_ITEM.finditer(text)]
    return ranges


def answer_markdown(answer: Answer, turn: int) -> str:
    """The final answer: [n] markers become links to source card `src-<turn>-<n>`, the
    answering span is bold, sentences without a verified source (`answer.unsupported`) are
    marked, a notice (e.g. LLM unreachable) follows in italics."""
    text = answer.text
    titles = {c.n: c.title for c in answer.citations}
    styled = _markdown_ranges(text)  # (start, end, tag) ranges of `text`
    at = text.find(answer.span) if answer.span else -1
    if at >= 0:
        styled.append((at, at + len(answer.span), "strong"))
    for sentence in answer.unsupported:
        at = text.find(sentence) if sentence else -1
        if at >= 0:
            styled.append((at, at + len(sentence), _UNSUPPORTED_TAG))
    parts: list[str] = []
    pos = 0
    for m in _MARKER.finditer(text):
        parts.append(_styled(text, pos, m.start(), styled))
        n = int(m.group(1))
        if n in titles:
            parts.append(
                f'<a class="cite" href="#{source_anchor(turn, n)}" title="{escape(titles[n])}">'
                f"&#91;{n}&#93;</a>"
            )
        else:
            parts.append(md_escape(m.group(), line_start=False))
        pos = m.end()
    parts.append(_styled(text, pos, len(text), styled))
    out = "".join(parts)
    if any(tag == _UNSUPPORTED_TAG for *_, tag in styled):
        out += f'<br><span class="unsupported-note">{UNSUPPORTED_NOTE}</span>'
    if answer.notice:
        out += f"<br><em>{md_escape(answer.notice)}</em>"
    return out


_UNSUPPORTED_TAG = 'span class="unsupported" title="Chưa có nguồn kiểm chứng"'
UNSUPPORTED_NOTE = "Phần gạch chân chưa có nguồn kiểm chứng trong tài liệu; hãy kiểm tra lại."


def _styled(text: str, start: int, end: int, styled: Sequence[tuple[int, int, str]]) -> str:
    """text[start:end] escaped, each piece inside the `styled` ranges that cover it wrapped in
    their tags (bold span, unsupported sentence)."""
    cuts = sorted({start, end, *(x for a, b, _ in styled for x in (a, b) if start < x < end)})
    out = []
    for a, b in zip(cuts, cuts[1:], strict=False):
        tags = [tag for s, e, tag in styled if s <= a and b <= e]
        if _HIDDEN in tags:
            continue
        if _ITEM in tags:
            out.append("- ")
            continue
        # A piece that opens a line (or a list item) is escaped as a line start: no heading,
        # numbered list or code block of its own.
        opens = a == 0 or text[a - 1] == "\n" or any(e == a for _, e, t in styled if t == _ITEM)
        piece = md_escape(text[a:b], line_start=opens)
        for tag in tags:
            piece = f"<{tag}>{piece}</{tag.split()[0]}>"
        out.append(piece)
    return "".join(out)


# ---------------------------------------------------------------------------------------------
# Sources panel


def source_meta(outlet: str | None, iso_date: str | None) -> str:
    """'Kinhtedothi · 17/02/2023'; what is not known is said plainly."""
    if not outlet and not iso_date:
        return "không rõ nguồn/ngày"
    return f"{escape(outlet) or 'không rõ nguồn'} · {display_date(iso_date) or 'không rõ ngày'}"


def highlight(
    text: str, offset: int, marks: Iterable[tuple[int, int, tuple[int, int] | None]]
) -> str:
    """`text` (which starts at file offset `offset`) escaped, each (start, end) sentence in
    <mark> and its answering span, when given, in <strong> inside it."""
    out: list[str] = []
    pos = 0
    for start, end, span in sorted(marks, key=lambda m: m[0]):
        s, e = max(start - offset, pos), min(end - offset, len(text))
        if s >= e:
            continue
        out.append(escape(text[pos:s]))
        inner = text[s:e]
        if span is not None:
            a, b = max(span[0] - offset - s, 0), min(span[1] - offset - s, len(inner))
            if a < b:
                inner_html = (
                    f"{escape(inner[:a])}<strong>{escape(inner[a:b])}</strong>{escape(inner[b:])}"
                )
            else:
                inner_html = escape(inner)
        else:
            inner_html = escape(inner)
        out.append(f"<mark>{inner_html}</mark>")
        pos = e
    out.append(escape(text[pos:]))
    return "".join(out)


def citation_html(citation: Citation, turn: int) -> str:
    """One source card: the article (title, outlet, date) and the cited passage with the
    supporting sentence highlighted and the answering span bold; the full article on demand."""
    c = citation
    meta = source_meta(c.outlet, c.date)
    passage = highlight(c.passage, c.passage_start, [(c.start, c.end, c.span)])
    warning = (
        ""
        if c.supported
        else '<p class="weak">Câu trích dẫn không khớp chặt với nhận định; hãy kiểm tra lại.</p>'
    )
    return (
        f'<details class="source" id="{source_anchor(turn, c.n)}">'
        f'<summary><span class="n">[{c.n}]</span> <span class="title">{escape(c.title)}</span> '
        f'<span class="meta">{meta}</span></summary>'
        f'<blockquote class="passage">{passage}</blockquote>{warning}'
        f'<button class="full-article" data-doc="{escape(c.doc_id)}" '
        f'data-marks="{_marks_attr(c)}">'
        "Xem toàn bài</button>"
        '<div class="article"></div>'
        "</details>"
    )


def sources_html(turns: Sequence[Turn]) -> str:
    """The sources of every answer, newest first; older answers' sources folded away."""
    if not turns:
        return NO_SOURCES
    sections = []
    for t in range(len(turns), 0, -1):
        answer = turns[t - 1].answer
        cards = (
            "".join(citation_html(c, t) for c in answer.citations)
            or '<p class="muted">Câu trả lời này không có nguồn trích dẫn.</p>'
        )
        heading = f"Câu hỏi {t}: {escape(turns[t - 1].question)}"
        sections.append(
            f'<details class="turn" id="turn-{t}"{" open" if t == len(turns) else ""}>'
            f"<summary>{heading}</summary>{cards}</details>"
        )
    return "".join(sections)


def article_html(
    text: str,
    marks: Iterable[tuple[int, int, tuple[int, int] | None]],
    shown: Iterable[tuple[int, int]] | None = None,
) -> str:
    """An article, escaped, with the cited sentences (file offsets) highlighted. `shown` are
    the (start, end) ranges of `text` to show, e.g. its title and body without share buttons,
    bylines or captions that repeat the text; the cited sentences are always shown."""
    marks = list(marks)
    if shown is None:
        return f'<div class="article-text">{highlight(text, 0, marks)}</div>'
    ranges = sorted([*shown, *((s, e) for s, e, _ in marks)])
    merged: list[list[int]] = []
    for s, e in ranges:
        s, e = max(s, 0), min(e, len(text))
        if s >= e:
            continue
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    paragraphs = "\n\n".join(
        highlight(text[s:e].strip("\n"), s + _leading_newlines(text[s:e]), marks) for s, e in merged
    )
    return f'<div class="article-text">{paragraphs}</div>'


def _leading_newlines(text: str) -> int:
    return len(text) - len(text.lstrip("\n"))


def parse_marks(value: str | None) -> list[tuple[int, int, tuple[int, int] | None]]:
    """A card's `data-marks` ('start,end' or 'start,end,span_start,span_end') back to offsets;
    anything else gives no marks."""
    try:
        numbers = [int(x) for x in (value or "").split(",")]
    except ValueError:
        return []
    if len(numbers) == 2:
        return [(numbers[0], numbers[1], None)]
    if len(numbers) == 4:
        return [(numbers[0], numbers[1], (numbers[2], numbers[3]))]
    return []


def _marks_attr(c: Citation) -> str:
    span = f",{c.span[0]},{c.span[1]}" if c.span else ""
    return f"{c.start},{c.end}{span}"
