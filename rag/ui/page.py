"""The rest of what the chat page shows, as pure functions: the status line, upload outcomes,
the document list, the settings panel's filters, feedback records, the login form and Gradio's
own strings in Vietnamese.

In: a `Status`, `FileOutcome`s, `DocumentInfo`s, form values, a `Turn`. Out: HTML strings,
`Filters`, feedback records. Never: unescaped names or titles; nothing here touches the network,
the index or the environment.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from rag.dates import display_date
from rag.errors import DateError, FilterError
from rag.filters import Filters
from rag.types import DocumentInfo, FileOutcome, Status
from rag.ui.answers import Turn, escape

STAGES = {
    "load": "Đọc tệp",
    "embed": "Tạo vector",
    "tokenize": "Tách từ",
    "write": "Ghi chỉ mục",
    "bm25": "Dựng chỉ mục từ khoá",
}
RETRIEVAL_LABELS = {
    "hybrid": "kết hợp từ khoá và ngữ nghĩa",
    "dense": "theo ngữ nghĩa",
    "lexical": "theo từ khoá",
}


# ---------------------------------------------------------------------------------------------
# Status line


def status_html(status: Status) -> str:
    """One short line for everyone (what answers, how many documents, whether the index is
    still being built) that opens on a click to the details: the models, the retrieval mode,
    the size of the index, why a fallback runs, what went wrong."""
    pending, indexing, error = status.vectors_pending, status.indexing, status.error
    line = [
        "Trả lời bằng mô hình ngôn ngữ" if status.llm else "Trả lời bằng trích dẫn từ tài liệu",
        f"{status.documents} tài liệu",
    ]
    if indexing is not None:
        line.append(f'<span class="busy">đang nạp {progress_text(*indexing)}</span>')
    elif pending:
        line.append('<span class="busy">đang tạo vector</span>')
    if error:
        line.append('<span class="error">nạp lỗi</span>')
    refused = status.reader.removeprefix("tắt: ") if status.reader.startswith("tắt: ") else None
    if refused:
        line.append('<span class="error">bộ đọc tắt</span>')

    model = escape(status.embedding_model)
    if status.embedding_fallback:
        model += f" (dự phòng ngoại tuyến: không tải được {escape(status.requested_model)})"
    details = [
        "Câu trả lời: "
        + (
            f"mô hình ngôn ngữ {escape(status.llm)}, kèm trích dẫn đã kiểm tra"
            if status.llm
            else "trích nguyên văn câu trong tài liệu (không dùng mô hình ngôn ngữ)"
        ),
        f"Mô hình nhúng: {model}",
        "Chế độ truy hồi: "
        + RETRIEVAL_LABELS.get(status.retrieval_mode, escape(status.retrieval_mode)),
        f"Chỉ mục: {status.documents} tài liệu, {status.chunks} đoạn",
    ]
    if pending:
        details.append(
            f"{pending} đoạn chưa có vector: trong lúc chờ, các đoạn đó được tìm theo từ khoá"
        )
    if indexing is not None:
        details.append(f"Đang nạp kho tài liệu: {progress_text(*indexing)}")
    if error:
        details.append(f'<span class="error">Lỗi khi nạp: {escape(error)}</span>')
    if refused:
        details.append(
            f'<span class="error">Bộ đọc câu trả lời tắt, chỉ dùng quy tắc: {escape(refused)}</span>'
        )
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


def upload_message(outcome: FileOutcome) -> str:
    """'đã thêm thành bai.txt (3 đoạn)', or the reason the file was refused."""
    if outcome.status == "added":
        return f"đã thêm thành {outcome.doc_id} ({outcome.chunks} đoạn)"
    if outcome.status == "updated":
        return f"đã cập nhật {outcome.doc_id} ({outcome.chunks} đoạn)"
    if outcome.status == "unchanged":
        return f"không đổi, đã có trong chỉ mục ({outcome.doc_id})"
    return outcome.reason


def upload_results_html(outcomes: Sequence[FileOutcome]) -> str:
    """One line per uploaded file: ✓ and what became of it, or ✗ and why it was refused."""
    if not outcomes:
        return ""
    rows = "".join(
        f'<li class="{"failed" if o.status == "refused" else "ok"}">'
        f"{'✗' if o.status == 'refused' else '✓'} "
        f"<code>{escape(o.name)}</code>: {escape(upload_message(o))}</li>"
        for o in outcomes
    )
    return f'<ul class="uploads">{rows}</ul>'


def documents_html(documents: Sequence[DocumentInfo]) -> str:
    """The indexed documents as a table (title, outlet, date, passages, file)."""
    if not documents:
        return '<p class="muted">Chưa có tài liệu nào trong chỉ mục.</p>'
    rows = "".join(
        f"<tr><td>{escape(d.title)}</td><td>{escape(d.outlet)}</td>"
        f"<td>{display_date(d.date)}</td><td>{d.chunks}</td>"
        f"<td><code>{escape(d.doc_id)}</code></td></tr>"
        for d in documents
    )
    return (
        '<table class="documents"><thead><tr><th>Tiêu đề</th><th>Nguồn</th><th>Ngày</th>'
        f"<th>Đoạn</th><th>Tệp</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def document_choices(documents: Sequence[DocumentInfo]) -> list[tuple[str, str]]:
    """(label, doc_id) pairs for the removal picker; Gradio shows labels as text."""
    return [(f"{d.title or d.doc_id} ({d.doc_id})", d.doc_id) for d in documents]


def outlet_choices(documents: Sequence[DocumentInfo]) -> list[tuple[str, str]]:
    """The outlet filter's (label, value) pairs: "all", then each outlet of the index."""
    outlets = sorted({d.outlet for d in documents if d.outlet})
    return [("Tất cả", ""), *((o, o) for o in outlets)]


# ---------------------------------------------------------------------------------------------
# Settings panel


def parse_filters(date_from: str | None, date_to: str | None, outlet: str | None) -> Filters | None:
    """The settings panel's filters as `Filters` (dates as 17/02/2023, or ISO), or None when
    nothing filters; FilterError, which the page shows, for a bad date or a backwards range."""
    try:
        return Filters.of(date_from, date_to, outlet)
    except DateError as exc:
        raise FilterError(str(exc)) from None


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
