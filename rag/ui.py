"""What the chat page shows, as pure functions: answers, sources, status, uploads, feedback,
the login form and Gradio's own strings in Vietnamese.

In: `Answer`s, `Citation`s, status dicts, file names, form values. Out: HTML/markdown strings,
safe file names, `Filters`, feedback records. Every piece of document text, title or file name
goes through `escape` (or `md_escape` for the chat's markdown) so that an article containing
`<script>` shows as text; nothing here touches the network, the index or the environment.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path, PurePosixPath, PureWindowsPath

from rag import dates
from rag.documents import SUPPORTED_SUFFIXES
from rag.errors import FilterError, UploadError, too_large
from rag.types import Answer, Citation, Filters

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
    """The answer as it streams in: plain text, markers not yet linked."""
    return md_escape(text)


def answer_markdown(answer: Answer, turn: int) -> str:
    """The final answer: [n] markers become links to source card `src-<turn>-<n>`, the
    answering span is bold, sentences without a verified source (`answer.unsupported`) are
    marked, a notice (e.g. LLM unreachable) follows in italics."""
    text = answer.text
    titles = {c.n: c.title for c in answer.citations}
    styled: list[tuple[int, int, str]] = []  # (start, end, tag) ranges of `text`
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
        piece = md_escape(text[a:b], line_start=a == 0)
        for s, e, tag in styled:
            if s <= a and b <= e:
                piece = f"<{tag}>{piece}</{tag.split()[0]}>"
        out.append(piece)
    return "".join(out)


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


# ---------------------------------------------------------------------------------------------
# Status line


def status_html(
    status: dict,
    *,
    requested_model: str,
    indexing: tuple[str, int, int] | None = None,
    error: str | None = None,
) -> str:
    """One short line for everyone (what answers, how many documents, whether the index is
    still being built) that opens on a click to the details: the models, the retrieval mode,
    the size of the index, why a fallback runs, what went wrong."""
    pending = int(status.get("vectors_pending", 0) or 0)
    line = [
        "Trả lời bằng mô hình ngôn ngữ" if status["llm"] else "Trả lời bằng trích dẫn từ tài liệu",
        f"{status['documents']} tài liệu",
    ]
    if indexing is not None:
        line.append(f'<span class="busy">đang nạp {progress_text(*indexing)}</span>')
    elif pending:
        line.append('<span class="busy">đang tạo vector</span>')
    if error:
        line.append('<span class="error">nạp lỗi</span>')

    model = escape(status["embedding_model"])
    if status["embedding_fallback"]:
        model += f" (dự phòng ngoại tuyến: không tải được {escape(requested_model)})"
    details = [
        "Câu trả lời: "
        + (
            f"mô hình ngôn ngữ {escape(status['llm'])}, kèm trích dẫn đã kiểm tra"
            if status["llm"]
            else "trích nguyên văn câu trong tài liệu (không dùng mô hình ngôn ngữ)"
        ),
        f"Mô hình nhúng: {model}",
        "Chế độ truy hồi: "
        + RETRIEVAL_LABELS.get(status["retrieval_mode"], escape(status["retrieval_mode"])),
        f"Chỉ mục: {status['documents']} tài liệu, {status['chunks']} đoạn",
    ]
    if pending:
        details.append(
            f"{pending} đoạn chưa có vector: trong lúc chờ, các đoạn đó được tìm theo từ khoá"
        )
    if indexing is not None:
        details.append(f"Đang nạp kho tài liệu: {progress_text(*indexing)}")
    if error:
        details.append(f'<span class="error">Lỗi khi nạp: {escape(error)}</span>')
    items = "".join(f"<li>{d}</li>" for d in details)
    return (
        f'<details class="status"><summary title="Bấm để xem chi tiết">{" · ".join(line)}'
        f"</summary><ul>{items}</ul></details>"
    )


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


def filters_text(filters: Filters) -> str:
    """'từ 01/01/2024 · đến 31/12/2024 · nguồn ĐBP': the filters in force, for the user."""
    parts = []
    if filters.date_from:
        parts.append(f"từ {display_date(filters.date_from)}")
    if filters.date_to:
        parts.append(f"đến {display_date(filters.date_to)}")
    if filters.outlet:
        parts.append(f"nguồn {filters.outlet}")
    return " · ".join(parts)


def nothing_found_html(filters: Filters) -> str:
    """The notice under an answer found nothing for while a filter was on."""
    return (
        '<span class="filtered">Không tìm thấy câu trả lời khi đang lọc '
        f"({escape(filters_text(filters))}). Bỏ bộ lọc để tìm trong cả kho tài liệu.</span>"
    )


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
    """One line of feedback.jsonl: answer id, time, vote ('up'/'down'), question, answer,
    citations."""
    return {
        "id": turn.id,
        "time": now.isoformat(timespec="seconds"),
        "vote": "up" if vote else "down",
        "question": turn.question,
        "answer": turn.answer.text,
        "citations": [c.to_json() for c in turn.answer.citations],
    }


# ---------------------------------------------------------------------------------------------
# Login page and Gradio's own strings

# Gradio's built-in texts of the components this page uses, by Gradio's translation key. The
# page registers them for the "en" locale, the one Gradio falls back to for every browser
# language it has no translation of (Vietnamese among them).
GRADIO_TRANSLATIONS = {
    "upload_text.drop_file": "Thả tệp vào đây",
    "upload_text.click_to_upload": "Bấm để chọn tệp",
    "common.or": "hoặc",
    "common.clear": "Xoá",
    "common.remove": "Gỡ",
    "common.download": "Tải về",
    "common.loading": "Đang tải",
    "common.error": "Lỗi",
    "common.empty": "Trống",
    "chatbot.like": "Hữu ích",
    "chatbot.dislike": "Không hữu ích",
    "chatbot.copy_message": "Chép câu trả lời",
    "chatbot.copied_message": "Đã chép",
    "chatbot.clear": "Xoá",
    "chatbot.retry": "Hỏi lại",
    "chatbot.undo": "Hoàn tác",
}

LOGIN_MESSAGE = "Đăng nhập để dùng trợ lý hỏi đáp tài liệu."
LOGIN_FAILED = "Sai tên đăng nhập hoặc mật khẩu."


def login_html(action: str, error: str | None = None) -> str:
    """The login page: a plain Vietnamese form that posts to `action`; no script, no asset."""
    notice = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    return f"""<!doctype html>
<html lang="vi"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Đăng nhập · Hỏi đáp tài liệu</title>
<style>
body {{ font-family: system-ui, sans-serif; background: #f4f4f5; color: #18181b; margin: 0; }}
main {{ max-width: 22rem; margin: 12vh auto; background: #fff; padding: 1.5rem 1.75rem;
  border-radius: 12px; box-shadow: 0 1px 4px rgba(0, 0, 0, .12); }}
h1 {{ font-size: 1.35rem; margin: 0 0 .4rem; }}
p {{ margin: 0 0 1rem; color: #52525b; }}
label {{ display: block; font-weight: 600; margin: .8rem 0 .3rem; }}
input {{ width: 100%; box-sizing: border-box; padding: .55rem .6rem; font-size: 1rem;
  border: 1px solid #d4d4d8; border-radius: 8px; }}
button {{ margin-top: 1.2rem; width: 100%; padding: .6rem; font-size: 1rem; font-weight: 600;
  color: #fff; background: #ea580c; border: 0; border-radius: 8px; cursor: pointer; }}
.error {{ color: #b91c1c; font-weight: 600; }}
</style></head>
<body><main>
<h1>Hỏi đáp tài liệu</h1>
<p>{escape(LOGIN_MESSAGE)}</p>
{notice}<form method="post" action="{escape(action)}">
<label for="username">Tên đăng nhập</label>
<input id="username" name="username" autocomplete="username" required autofocus>
<label for="password">Mật khẩu</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Đăng nhập</button>
</form></main></body></html>
"""
