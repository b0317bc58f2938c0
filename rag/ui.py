"""What the chat page shows, as pure functions: answers, sources, status, uploads, feedback.

In: `Answer`s, `Citation`s, status dicts, file names, form values. Out: HTML/markdown strings,
safe file names, `Filters`, feedback records. Every piece of document text, title or file name
goes through `escape` (or `md_escape` for the chat's markdown) so that an article containing
`<script>` shows as text; nothing here touches the network, the index or the environment.
"""

from __future__ import annotations

import html
import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path, PurePosixPath, PureWindowsPath

from rag import dates
from rag.answer import Answer, Citation
from rag.documents import SUPPORTED_SUFFIXES, too_large
from rag.store import Filters

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
UPLOAD_SUFFIXES = SUPPORTED_SUFFIXES
MAX_FILENAME_CHARS = 120

STAGES = {
    "load": "Đọc tệp",
    "embed": "Tạo vector",
    "tokenize": "Tách từ",
    "write": "Ghi chỉ mục",
    "bm25": "Dựng chỉ mục từ khoá",
}
RETRIEVAL_LABELS = {
    "hybrid": "kết hợp (hybrid)",
    "dense": "ngữ nghĩa (dense)",
    "lexical": "từ khoá (lexical)",
}
NO_SOURCES = '<p class="muted">Nguồn trích dẫn của câu trả lời sẽ hiện ở đây.</p>'


class UploadError(ValueError):
    """A file the page refuses; the message is one Vietnamese line for the user."""


class FilterError(ValueError):
    """A filter value the page cannot use; the message is one Vietnamese line for the user."""


@dataclass(frozen=True)
class Turn:
    """One question of the conversation and its answer."""

    question: str
    answer: Answer


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
    """The answer as it streams in: plain text, markers not yet linked."""
    return md_escape(text)


def answer_markdown(answer: Answer, turn: int) -> str:
    """The final answer: [n] markers become links to source card `src-<turn>-<n>`, the
    answering span is bold, a notice (e.g. LLM unreachable) follows in italics."""
    text = answer.text
    titles = {c.n: c.title for c in answer.citations}
    at = text.find(answer.span) if answer.span else -1
    bold = (at, at + len(answer.span)) if at >= 0 else None
    parts: list[str] = []
    pos = 0
    for m in _MARKER.finditer(text):
        parts.append(_plain(text, pos, m.start(), bold))
        n = int(m.group(1))
        if n in titles:
            parts.append(
                f'<a class="cite" href="#{source_anchor(turn, n)}" title="{escape(titles[n])}">'
                f"&#91;{n}&#93;</a>"
            )
        else:
            parts.append(md_escape(m.group(), line_start=False))
        pos = m.end()
    parts.append(_plain(text, pos, len(text), bold))
    out = "".join(parts)
    if answer.notice:
        out += f"<br><em>{md_escape(answer.notice)}</em>"
    return out


def _plain(text: str, start: int, end: int, bold: tuple[int, int] | None) -> str:
    """text[start:end] escaped, with the part inside `bold` in <strong>."""
    if bold is None or bold[1] <= start or bold[0] >= end:
        return md_escape(text[start:end], line_start=start == 0)
    a, b = max(bold[0], start), min(bold[1], end)
    return (
        f"{md_escape(text[start:a], line_start=start == 0)}"
        f"<strong>{md_escape(text[a:b], line_start=a == 0)}</strong>"
        f"{md_escape(text[b:end], line_start=False)}"
    )


# ---------------------------------------------------------------------------------------------
# Sources panel


def display_date(iso: str | None) -> str:
    """'2023-02-17' -> '17/02/2023', the way Vietnamese readers write dates."""
    if not iso:
        return ""
    try:
        return date.fromisoformat(iso).strftime("%d/%m/%Y")
    except ValueError:
        return iso


def source_meta(outlet: str | None, iso_date: str | None) -> str:
    return " · ".join(escape(p) for p in (outlet, display_date(iso_date)) if p)


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
        f'<summary><span class="n">[{c.n}]</span> <span class="title">{escape(c.title)}</span>'
        + (f' <span class="meta">{meta}</span>' if meta else "")
        + "</summary>"
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


def article_html(text: str, marks: Iterable[tuple[int, int, tuple[int, int] | None]]) -> str:
    """A full article, escaped, with the cited sentences (file offsets) highlighted."""
    return f'<div class="article-text">{highlight(text, 0, marks)}</div>'


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


# ---------------------------------------------------------------------------------------------
# Status line


def status_html(
    status: dict,
    *,
    requested_model: str,
    llm_url: str | None = None,
    indexing: tuple[str, int, int] | None = None,
    error: str | None = None,
) -> str:
    """What runs: embedding model (or the offline fallback, said plainly), the answerer,
    the retrieval mode and the size of the index; ingestion progress while it runs."""
    if status["embedding_fallback"]:
        model = (
            f"{escape(status['embedding_model'])} (ngoại tuyến — không tải được "
            f"{escape(requested_model)})"
        )
    elif status["embedding_model"] == "hashing":
        model = "hashing (ngoại tuyến)"
    else:
        model = escape(status["embedding_model"])
    if status["llm"]:
        where = f" tại {escape(llm_url)}" if llm_url and llm_url != status["llm"] else ""
        answerer = f"mô hình ngôn ngữ {escape(status['llm'])}{where}"
    else:
        answerer = "trích xuất (không dùng mô hình ngôn ngữ)"
    mode = RETRIEVAL_LABELS.get(status["retrieval_mode"], escape(status["retrieval_mode"]))
    parts = [
        f"Mô hình nhúng: {model}",
        f"Trả lời: {answerer}",
        f"Truy hồi: {mode}",
        f"{status['documents']} tài liệu, {status['chunks']} đoạn",
    ]
    if indexing is not None:
        parts.append(f'<span class="busy">Đang nạp kho tài liệu: {progress_text(*indexing)}</span>')
    if error:
        parts.append(f'<span class="error">Lỗi khi nạp: {escape(error)}</span>')
    return " · ".join(parts)


def progress_text(stage: str, done: int, total: int) -> str:
    label = STAGES.get(stage, escape(stage))
    return f"{label} {done}/{total}" if total else label


def progress_fraction(stage: str, done: int, total: int) -> float:
    """Overall share done, for a progress bar: the stages in order, each an equal part."""
    order = list(STAGES)
    i = order.index(stage) if stage in order else 0
    within = done / total if total else 0.0
    return min((i + within) / len(order), 1.0)


# ---------------------------------------------------------------------------------------------
# Uploads and the document list

_UNSAFE_NAME_CHARS = re.compile(r"[^\w .()+,-]")


def safe_filename(name: str) -> str:
    """The last path component of an uploaded file's name, without control characters or
    characters a shell or file system treats specially; '' when nothing usable is left."""
    name = unicodedata.normalize("NFC", name or "")
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C")
    base = PureWindowsPath(PurePosixPath(name).name).name
    base = _UNSAFE_NAME_CHARS.sub("_", base)
    base = re.sub(r"\s+", " ", base).strip(" .")
    if len(base) > MAX_FILENAME_CHARS:
        stem, suffix = Path(base).stem, Path(base).suffix
        base = stem[: MAX_FILENAME_CHARS - len(suffix)].rstrip(" .") + suffix
    return base


def check_upload(name: str, size: int, limit: int = MAX_UPLOAD_BYTES) -> str:
    """The safe name to store an upload under, or UploadError saying why it is refused."""
    safe = safe_filename(name)
    if not Path(safe).stem:
        raise UploadError("tên tệp không hợp lệ")
    suffix = Path(safe).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        allowed = ", ".join(UPLOAD_SUFFIXES)
        raise UploadError(
            f"loại tệp không được hỗ trợ ({suffix or 'không có đuôi'}; nhận {allowed})"
        )
    if size > limit:
        raise UploadError(too_large(size, limit))
    if size == 0:
        raise UploadError("tệp rỗng")
    return safe


@dataclass(frozen=True)
class UploadResult:
    name: str  # as the user's browser sent it
    ok: bool
    message: str  # "đã thêm (3 đoạn)", or the reason it was skipped


def upload_results_html(results: Sequence[UploadResult]) -> str:
    if not results:
        return ""
    rows = "".join(
        f'<li class="{"ok" if r.ok else "failed"}">{"✓" if r.ok else "✗"} '
        f"<code>{escape(r.name)}</code>: {escape(r.message)}</li>"
        for r in results
    )
    return f'<ul class="uploads">{rows}</ul>'


def documents_html(documents: Sequence[dict]) -> str:
    """The indexed documents as a table (title, outlet, date, passages, file)."""
    if not documents:
        return '<p class="muted">Chưa có tài liệu nào trong chỉ mục.</p>'
    rows = "".join(
        f"<tr><td>{escape(d['title'])}</td><td>{escape(d.get('outlet'))}</td>"
        f"<td>{display_date(d.get('date'))}</td><td>{d['chunks']}</td>"
        f"<td><code>{escape(d['doc_id'])}</code></td></tr>"
        for d in documents
    )
    return (
        '<table class="documents"><thead><tr><th>Tiêu đề</th><th>Nguồn</th><th>Ngày</th>'
        f"<th>Đoạn</th><th>Tệp</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def document_choices(documents: Sequence[dict]) -> list[tuple[str, str]]:
    """(label, doc_id) pairs for the removal picker; Gradio shows labels as text."""
    return [(f"{d['title'] or d['doc_id']} ({d['doc_id']})", d["doc_id"]) for d in documents]


# ---------------------------------------------------------------------------------------------
# Settings panel


def parse_date(value: str | None, label: str) -> str | None:
    """'2023-02-17' or '17/02/2023' -> '2023-02-17'; '' -> None. The rule is rag.dates', shared
    with the CLI; here its error is a FilterError, which the page shows."""
    try:
        return dates.parse_date(value, label)
    except dates.DateError as exc:
        raise FilterError(str(exc)) from None


def parse_filters(date_from: str | None, date_to: str | None, outlet: str | None) -> Filters | None:
    """The settings panel's filters as `Filters`, or None when nothing filters."""
    start = parse_date(date_from, "Từ ngày")
    end = parse_date(date_to, "Đến ngày")
    if start and end and start > end:
        raise FilterError(f"Khoảng ngày ngược: từ {display_date(start)} đến {display_date(end)}")
    filters = Filters(outlet=(outlet or "").strip() or None, date_from=start, date_to=end)
    return filters or None


def parse_auth(value: str | None) -> list[tuple[str, str]]:
    """'user:pass,user2:pass2' -> [('user', 'pass'), ('user2', 'pass2')]."""
    pairs = []
    for item in (value or "").split(","):
        if not item.strip():
            continue
        user, sep, password = item.strip().partition(":")
        if not sep or not user or not password:
            raise ValueError("RAG_AUTH cần dạng người_dùng:mật_khẩu[,người_dùng:mật_khẩu]")
        pairs.append((user, password))
    return pairs


# ---------------------------------------------------------------------------------------------
# Feedback


def feedback_record(vote: bool, turn: Turn, now: datetime) -> dict:
    """One line of feedback.jsonl: time, vote ('up'/'down'), question, answer, citations."""
    return {
        "time": now.isoformat(timespec="seconds"),
        "vote": "up" if vote else "down",
        "question": turn.question,
        "answer": turn.answer.text,
        "citations": [c.to_json() for c in turn.answer.citations],
    }


def feedback_line(record: dict) -> str:
    return json.dumps(record, ensure_ascii=False) + "\n"
