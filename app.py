"""The chat page: a Gradio page around `rag.Assistant`, and `main()` that serves it.

In: an `Assistant` (store, retriever, answerer). Out: a `gr.Blocks` page with a chat, linked
citations, the sources of each answer beside it (below it on a phone), uploads, the document
list, settings and a one-line status; `create_server` puts it behind an optional Vietnamese
login. Formatting lives in `rag/ui.py` (pure functions); this module only wires events to the
assistant. Never binds beyond RAG_HOST and never shows document text unescaped.
"""

from __future__ import annotations

import hmac
import logging
import os
import secrets
import shutil
import sys
import tempfile
import threading
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import gradio as gr
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from rag import ui
from rag.chain import Assistant, Delta, Reset
from rag.config import Settings
from rag.documents import load_document
from rag.errors import ConfigError, DocumentError, QueryError, StoreError
from rag.feedback import MAX_FEEDBACK_BYTES, record_vote

log = logging.getLogger(__name__)

EXAMPLES = [
    "Ai là Trưởng Ban chỉ đạo Chương trình số 06-Ctr/ĐUK?",
    "Kế hoạch số 51-KH/ĐUK được triển khai tới bao nhiêu chi bộ?",
    "Từ năm 2017 đã tổ chức bao nhiêu lớp trung cấp chính trị?",
]

CSS = """
#status { font-size: 0.9em; color: var(--body-text-color-subdued); }
#status summary { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; cursor: pointer; }
#status ul { margin: 0.3em 0 0 1.2em; white-space: normal; }
@media (max-width: 480px) { #status details.status > summary { font-size: 13px; } }
#status .busy { color: var(--color-accent); font-weight: 600; }
#status .error, #notice .error { color: #b91c1c; }
#notice .filtered { color: #b45309; }
#chat a.cite { text-decoration: none; font-weight: 600; font-size: 0.85em; vertical-align: super; }
#chat .unsupported { text-decoration: underline dotted #b45309 2px; text-underline-offset: 3px; }
#chat .unsupported-note { color: #b45309; font-size: 0.9em; }
#sources-title { margin: 0; }
#sources details.turn > summary { font-weight: 600; margin: 0.4em 0; cursor: pointer; }
#sources details.source { border: 1px solid var(--border-color-primary); border-radius: 8px;
  padding: 0.4em 0.7em; margin: 0.4em 0; transition: background-color 0.6s; }
#sources details.source.flash { background-color: var(--color-accent-soft); }
#sources details.source > summary { cursor: pointer; }
#sources .title { font-weight: 600; }
#sources .meta, .muted { color: var(--body-text-color-subdued); font-size: 0.9em; }
#sources blockquote.passage { white-space: pre-wrap; margin: 0.5em 0; font-size: 0.92em; }
#sources mark { background: #fde68a; color: inherit; padding: 0 2px; }
#sources .weak { color: #b45309; font-size: 0.9em; }
#sources .article-text { white-space: pre-wrap; max-height: 28em; overflow-y: auto;
  border-top: 1px dashed var(--border-color-primary); margin-top: 0.5em; padding-top: 0.5em;
  font-size: 0.92em; }
#sources button.full-article { font-size: 0.85em; text-decoration: underline; cursor: pointer; }
/* Beside the chat the sources scroll on their own (Gradio's block style says overflow: visible). */
@media (min-width: 768px) {
  #sources-column #sources { max-height: 520px; overflow-y: auto !important; }
}
.uploads li.failed { color: #b91c1c; }
table.documents { font-size: 0.9em; }
"""

# Citation links open their card (and the answer's section) in the sources panel; each card's
# "Xem toàn bài" button fetches the cleaned article from the server on first use, and folds it
# away again on the next click.
SOURCES_JS = """
if (!window.__ragCiteLinks) {
  window.__ragCiteLinks = true;
  document.addEventListener('click', (event) => {
    const link = event.target.closest('a.cite');
    if (!link) return;
    event.preventDefault();
    const card = document.getElementById((link.getAttribute('href') || '').slice(1));
    if (!card) return;
    for (let el = card; el; el = el.parentElement) {
      if (el.tagName === 'DETAILS') el.open = true;
    }
    card.scrollIntoView({block: 'nearest'});
    card.classList.add('flash');
    setTimeout(() => card.classList.remove('flash'), 1500);
  }, true);
}
element.addEventListener('click', async (event) => {
  const button = event.target.closest('button.full-article');
  if (!button) return;
  const box = button.nextElementSibling;
  if (box.dataset.loaded) {
    box.hidden = !box.hidden;
  } else {
    button.disabled = true;
    box.innerHTML = await server.full_article(
      {doc: button.dataset.doc, marks: button.dataset.marks});
    box.dataset.loaded = '1';
    box.hidden = false;
    button.disabled = false;
  }
  button.textContent = box.hidden ? 'Xem toàn bài' : 'Thu gọn bài';
  button.setAttribute('aria-expanded', String(!box.hidden));
});
"""


class Ingestion:
    """Background work on the index so the page opens and answers at once: the first-start
    ingest of the corpus, then vectors for whatever the committed snapshot lacks (after that
    ingest, an upload, or a build killed earlier). Its progress is what the status line shows."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._again = False
        self.stage: tuple[str, int, int] | None = None
        self.error: str | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, assistant: Assistant, root: Path | None = None) -> None:
        """Ingest `root` (lexical search works as soon as it is committed), then build vectors;
        with no root, only build vectors. A call while running makes the builder look again."""
        with self._lock:
            if self.running:
                self._again = True
                return
            self.stage = ("load", 0, 0) if root is not None else ("embed", 0, 0)
            self._thread = threading.Thread(target=self._run, args=(assistant, root), daemon=True)
            self._thread.start()

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _progress(self, stage: str, done: int, total: int) -> None:
        with self._lock:
            self.stage = (stage, done, total)

    def _run(self, assistant: Assistant, root: Path | None) -> None:
        try:
            if root is not None:
                report = assistant.store.sync(root, progress=self._progress, vectors=False)
                for doc_id, reason in report.errors:
                    log.warning("Bỏ qua %s: %s", doc_id, reason)
            while True:
                assistant.build_vectors(self._progress)
                with self._lock:
                    if not self._again:
                        self.stage = None
                        return
                    self._again = False
        except Exception as exc:  # shown on the status line; the page keeps working
            log.exception("Nạp kho tài liệu thất bại")
            self.error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        finally:
            with self._lock:
                self.stage = None

    def current(self) -> tuple[str, int, int] | None:
        with self._lock:
            return self.stage if self.running else None


class ChatPage:
    """The page's event handlers; `create_app` wires them, tests call them directly."""

    def __init__(
        self,
        assistant: Assistant,
        *,
        ingestion: Ingestion | None = None,
        max_upload_bytes: int = ui.MAX_UPLOAD_BYTES,
        max_feedback_bytes: int = MAX_FEEDBACK_BYTES,
    ) -> None:
        self.assistant = assistant
        self.settings = assistant.settings
        self.ingestion = ingestion or Ingestion()
        self.max_upload_bytes = max_upload_bytes
        self.max_feedback_bytes = max_feedback_bytes
        self.feedback_path = Path(self.settings.data_dir) / "feedback.jsonl"
        self._feedback_lock = threading.Lock()

    # -- status and document list -------------------------------------------------------------
    def status(self) -> str:
        return ui.status_html(
            self.assistant.status(),
            requested_model=self.settings.embedding_model,
            indexing=self.ingestion.current(),
            error=self.ingestion.error,
        )

    def library(self) -> tuple[str, dict, dict]:
        """Document table, removal picker choices, outlet filter choices."""
        documents = self.assistant.store.documents()
        outlets = sorted({d["outlet"] for d in documents if d.get("outlet")})
        return (
            ui.documents_html(documents),
            gr.update(choices=ui.document_choices(documents), value=[]),
            gr.update(choices=[("Tất cả", "")] + [(o, o) for o in outlets]),
        )

    def poll(self):
        """Timer tick and page load: status, document list, and whether to keep polling (while
        the corpus is ingested or vectors are still being built)."""
        building = self.ingestion.running or self.assistant.status().get("vectors_pending", 0) > 0
        return (self.status(), gr.Timer(active=building), *self.library())

    # -- chat ---------------------------------------------------------------------------------
    def respond(self, question, chat, turns, mode, k, date_from, date_to, outlet):
        """The answer into the chat (an LLM's token by token, a finished one at once); then
        link its citations and fill the sources."""
        chat, turns = list(chat or []), list(turns or [])
        try:
            filters = ui.parse_filters(date_from, date_to, outlet)
            if self.ingestion.running and not self.assistant.store.snapshot.chunks:
                raise QueryError("Kho tài liệu đang được nạp; hãy hỏi lại sau giây lát.")
            events = self.assistant.stream(
                question or "",
                [(t.question, t.answer.text) for t in turns],
                k=int(k) if k else None,
                mode=mode or None,
                filters=filters,
            )
            first = next(events)  # the question is checked before anything streams
        except (QueryError, ui.FilterError, StoreError) as exc:
            yield chat, turns, gr.skip(), _notice(str(exc)), gr.skip()
            return
        chat.append({"role": "user", "content": ui.question_markdown(question.strip())})
        chat.append({"role": "assistant", "content": ""})
        # Only an LLM writes its answer over time; the extractive answer is finished when its
        # first word arrives, and typing it out word by word would only delay it.
        live = self.assistant.llm is not None
        streamed, notice = "", ""
        answer = None
        for event in _chain(first, events):
            if isinstance(event, Delta):
                if live:
                    streamed += event.text
                    chat[-1] = {"role": "assistant", "content": ui.streaming_markdown(streamed)}
                    yield list(chat), turns, gr.skip(), notice, ""
            elif isinstance(event, Reset):
                streamed, live = "", False
                notice = _notice(event.notice, error=False)
                chat[-1] = {"role": "assistant", "content": ""}
                yield list(chat), turns, gr.skip(), notice, ""
            else:
                answer = event
        turns.append(ui.Turn(answer.question or question.strip(), answer, uuid4().hex))
        chat[-1] = {"role": "assistant", "content": ui.answer_markdown(answer, len(turns))}
        notice = ui.nothing_found_html(filters) if filters and answer.abstained else ""
        yield chat, turns, ui.sources_html(turns), notice, ""

    def filter_offer(self, turns, date_from, date_to, outlet):
        """The "Bỏ bộ lọc" button shows while the last answer found nothing under a filter."""
        try:
            filters = ui.parse_filters(date_from, date_to, outlet)
        except ui.FilterError:
            filters = None
        found_nothing = bool(turns) and turns[-1].answer.abstained
        return gr.update(visible=bool(filters) and found_nothing)

    def clear_filters(self):
        """Date and outlet filters back to "all"; the offer and its notice go."""
        return "", "", "", gr.update(visible=False), ""

    def clear(self):
        return [], [], ui.NO_SOURCES, "", gr.update(visible=False)

    def feedback(self, turns, data: gr.LikeData) -> None:
        """Record a thumbs up/down with its question, answer and citations: one vote per
        answer in feedback.jsonl, a later vote replacing the earlier one."""
        index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
        if not isinstance(data.liked, bool) or not turns or index // 2 >= len(turns):
            return
        record = ui.feedback_record(data.liked, turns[index // 2], datetime.now(UTC))
        with self._feedback_lock:
            record_vote(self.feedback_path, record, self.max_feedback_bytes)

    def full_article(self, doc_id: str, marks: str) -> str:
        """The cleaned text of an indexed document (never of an arbitrary path), escaped: its
        title and body, without the share buttons, bylines and captions the file also holds."""
        record = self.assistant.store.snapshot.docs.get(str(doc_id))
        if not record or not record.get("source"):
            return '<p class="muted">Không tìm thấy bài viết trong chỉ mục.</p>'
        try:
            article = load_document(Path(record["source"]), Path(record.get("root") or "."))
        except (DocumentError, OSError) as exc:
            return f'<p class="muted">Không đọc được bài viết: {ui.escape(str(exc))}</p>'
        at = article.text.find(article.title) if article.title else -1
        title = [(at, at + len(article.title))] if at >= 0 else []
        return ui.article_html(article.text, ui.parse_marks(marks), [*title, *article.body])

    # -- uploads and removal ------------------------------------------------------------------
    def upload(self, files, progress=gr.Progress()):  # noqa: B008 - Gradio injects it
        """Copy accepted files into the corpus folder and index just those; one line per file."""
        results: dict[str, ui.UploadResult] = {}
        accepted: list[tuple[str, Path]] = []
        corpus = Path(self.settings.corpus_dir).resolve()
        corpus.mkdir(parents=True, exist_ok=True)
        for i, item in enumerate(files or []):
            source = Path(item if isinstance(item, (str, os.PathLike)) else item.name)
            name = source.name
            key = f"{i}:{name}"
            try:
                safe = ui.check_upload(name, source.stat().st_size, self.max_upload_bytes)
                load_document(source, source.parent)  # unreadable files never reach the corpus
            except (ui.UploadError, DocumentError, OSError) as exc:
                results[key] = ui.UploadResult(name, False, str(exc))
                continue
            target = corpus / safe
            if target.resolve().parent != corpus:
                results[key] = ui.UploadResult(name, False, "tên tệp không hợp lệ")
                continue
            _copy_atomic(source, target)
            accepted.append((key, target))
            results[key] = ui.UploadResult(name, True, "")
        if accepted:
            before = {d: r.get("hash") for d, r in self.assistant.store.snapshot.docs.items()}

            def report_progress(stage: str, done: int, total: int) -> None:
                progress(
                    ui.progress_fraction(stage, done, total),
                    desc=ui.progress_text(stage, done, total),
                )

            try:
                report = self.assistant.store.sync(
                    corpus,
                    paths=[t for _, t in accepted],
                    delete_missing=False,
                    progress=report_progress,
                    vectors=False,
                )
                errors = dict(report.errors)
                self.ingestion.start(self.assistant)  # vectors follow in the background
            except StoreError as exc:
                errors = {t.name: str(exc) for _, t in accepted}
            after = self.assistant.store.snapshot.docs
            for key, target in accepted:
                doc_id = target.relative_to(corpus).as_posix()
                name = results[key].name
                if doc_id in errors or doc_id not in after:
                    reason = errors.get(doc_id, "không nạp được")
                    results[key] = ui.UploadResult(name, False, reason)
                    continue
                chunks = len(after[doc_id]["chunks"])
                if doc_id not in before:
                    message = f"đã thêm thành {doc_id} ({chunks} đoạn)"
                elif before[doc_id] != after[doc_id].get("hash"):
                    message = f"đã cập nhật {doc_id} ({chunks} đoạn)"
                else:
                    message = f"không đổi, đã có trong chỉ mục ({doc_id})"
                results[key] = ui.UploadResult(name, True, message)
        return (ui.upload_results_html(list(results.values())), self.status(), *self.library())

    def remove(self, doc_ids):
        """Take documents out of the index; their files stay in the corpus folder."""
        doc_ids = [d for d in doc_ids or [] if isinstance(d, str)]
        if not doc_ids:
            message = _notice("Chọn ít nhất một tài liệu để gỡ.")
        else:
            report = self.assistant.store.remove(doc_ids)
            message = (
                f"Đã gỡ {report.deleted} tài liệu khỏi chỉ mục "
                "(tệp vẫn nằm trong thư mục kho tài liệu)."
            )
        return (message, self.status(), *self.library())


def _chain(first, rest):
    yield first
    yield from rest


def _notice(message: str, *, error: bool = True) -> str:
    css = "error" if error else "muted"
    return f'<span class="{css}">{ui.escape(message)}</span>'


def _copy_atomic(source: Path, target: Path) -> None:
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
    os.close(fd)
    try:
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


CONCURRENT_CHATS = 8


def create_app(
    assistant: Assistant,
    *,
    ingest_on_start: bool = False,
    max_upload_bytes: int = ui.MAX_UPLOAD_BYTES,
) -> gr.Blocks:
    """The page around `assistant`. With `ingest_on_start` and an empty index, the corpus
    folder is ingested in the background while the page already answers requests."""
    ingestion = Ingestion()
    if ingest_on_start and not assistant.store.snapshot.chunks:
        ingestion.start(assistant, Path(assistant.settings.corpus_dir))
    elif assistant.status()["vectors_pending"]:
        ingestion.start(assistant)
    page = ChatPage(assistant, ingestion=ingestion, max_upload_bytes=max_upload_bytes)
    settings = assistant.settings

    def full_article(request: dict) -> str:  # a server function gets one JSON argument
        request = request if isinstance(request, dict) else {}
        return page.full_article(str(request.get("doc", "")), str(request.get("marks", "")))

    # Not gr.ChatInterface: its single output cannot also fill the sources panel, and its
    # retry/undo buttons would bypass the per-answer ids that feedback is keyed by.
    with gr.Blocks(title="Hỏi đáp tài liệu", analytics_enabled=False) as app:
        gr.Markdown("## Hỏi đáp tài liệu tiếng Việt")
        status = gr.HTML(page.status(), elem_id="status", js_on_load=None)
        timer = gr.Timer(1.0, active=ingestion.running)
        turns = gr.State([])
        # Chat and sources share a row: side by side on a laptop; on a phone the row wraps
        # and the sources come right under the answer, before the question box.
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=320):
                chat = gr.Chatbot(
                    elem_id="chat",
                    label="Trò chuyện",
                    height=480,
                    layout="bubble",
                    feedback_options=("Like", "Dislike"),
                    buttons=["copy"],
                    latex_delimiters=[],
                    allow_tags=False,
                    placeholder="Đặt câu hỏi về các bài viết trong kho tài liệu. Mỗi ý trong câu "
                    "trả lời có trích dẫn [n]; bấm vào để xem nguồn.",
                )
            with gr.Column(scale=2, min_width=320, elem_id="sources-column"):
                gr.Markdown("### Nguồn", elem_id="sources-title")
                sources = gr.HTML(
                    ui.NO_SOURCES,
                    elem_id="sources",
                    js_on_load=SOURCES_JS,
                    server_functions=[full_article],
                )
        with gr.Row(equal_height=True):
            notice = gr.HTML("", elem_id="notice", js_on_load=None)
            clear_filters = gr.Button(
                "Bỏ bộ lọc", size="sm", visible=False, elem_id="clear-filters", scale=0
            )
        with gr.Row():
            question = gr.Textbox(
                elem_id="question",
                label="Câu hỏi",  # hidden, but read out by screen readers ("Textbox" otherwise)
                show_label=False,
                placeholder="Nhập câu hỏi rồi nhấn Enter…",
                scale=5,
                max_lines=4,
            )
            send = gr.Button("Gửi", variant="primary", scale=1, elem_id="send")
        clear = gr.Button("Xoá hội thoại", size="sm", elem_id="clear")
        gr.Examples(EXAMPLES, inputs=[question], label="Câu hỏi mẫu")
        with gr.Accordion("Cài đặt và bộ lọc", open=False, elem_id="settings"):
            mode = gr.Radio(
                [(label, name) for name, label in ui.RETRIEVAL_LABELS.items()],
                value=settings.retrieval_mode,
                label="Chế độ truy hồi",
            )
            k = gr.Slider(1, 20, value=settings.top_k, step=1, label="Số đoạn văn dùng")
            with gr.Row():
                date_from = gr.Textbox(
                    label="Từ ngày", placeholder="2021-01-01", elem_id="date-from"
                )
                date_to = gr.Textbox(label="Đến ngày", placeholder="31/12/2023", elem_id="date-to")
            outlet = gr.Dropdown(
                [("Tất cả", "")],
                value="",
                label="Nguồn báo",
                allow_custom_value=True,
                elem_id="outlet",
            )
        with gr.Accordion("Tài liệu", open=False, elem_id="library"):
            files = gr.File(
                label=f"Thêm tài liệu ({', '.join(ui.UPLOAD_SUFFIXES)}; tối đa "
                f"{max_upload_bytes // 2**20} MB mỗi tệp)",
                file_count="multiple",
                file_types=list(ui.UPLOAD_SUFFIXES),
                elem_id="upload",
            )
            upload_result = gr.HTML("", elem_id="upload-result", js_on_load=None)
            documents = gr.HTML(elem_id="documents", js_on_load=None)
            with gr.Row():
                remove_pick = gr.Dropdown(
                    [], multiselect=True, label="Gỡ khỏi chỉ mục", scale=4, elem_id="remove-pick"
                )
                remove = gr.Button("Gỡ tài liệu đã chọn", scale=1, elem_id="remove")

        library = [documents, remove_pick, outlet]
        filters = [date_from, date_to, outlet]
        gr.on(
            [question.submit, send.click],
            page.respond,
            [question, chat, turns, mode, k, *filters],
            [chat, turns, sources, notice, question],
            api_name="ask",
        ).then(page.filter_offer, [turns, *filters], [clear_filters], api_visibility="private")
        clear_filters.click(
            page.clear_filters, None, [*filters, clear_filters, notice], api_visibility="private"
        )
        clear.click(
            page.clear, None, [chat, turns, sources, notice, clear_filters], api_name="clear"
        )
        chat.like(page.feedback, [turns], None)
        files.upload(page.upload, [files], [upload_result, status, *library], api_name="upload")
        remove.click(page.remove, [remove_pick], [upload_result, status, *library])
        timer.tick(page.poll, None, [status, timer, *library], show_progress="hidden")
        app.load(page.poll, None, [status, timer, *library], show_progress="hidden")
    # Chats wait mostly on the LLM or on each other's CPU: several run at once, each with its
    # own conversation state; uploads take the store's lock and swap the index atomically.
    app.queue(default_concurrency_limit=CONCURRENT_CHATS)
    return app


def page_options(max_upload_bytes: int = ui.MAX_UPLOAD_BYTES) -> dict:
    """How Gradio serves the page: Vietnamese for its own strings, no fonts or scripts from
    the internet, no error details or API links for the visitor."""
    return {
        "max_file_size": max_upload_bytes,
        "css": CSS,
        "theme": gr.themes.Default(font=["system-ui", "sans-serif"], font_mono=["monospace"]),
        "i18n": gr.I18n(en=ui.GRADIO_TRANSLATIONS),
        "ssr_mode": False,
        "show_error": False,
        "footer_links": [],
    }


LOGIN_PATH = "/dang-nhap"
LOGOUT_PATH = "/dang-xuat"
SESSION_COOKIE = "hoi_dap_phien"


class Sessions:
    """Who may use the page (RAG_AUTH) and the browsers that have logged in: a random token
    per login, kept in memory, so a restart logs everyone out."""

    def __init__(self, users: list[tuple[str, str]]) -> None:
        self._users = dict(users)
        self._tokens: dict[str, str] = {}
        self._lock = threading.Lock()

    def login(self, username: str, password: str) -> str | None:
        """A new session token for a right name and password, else None."""
        expected = self._users.get(username.strip())
        # compare_digest on the password even for an unknown name: the time taken does not
        # tell which names exist.
        ok = hmac.compare_digest(password.encode(), (expected or "\0").encode())
        if expected is None or not ok:
            return None
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[token] = username.strip()
        return token

    def logout(self, token: str | None) -> None:
        with self._lock:
            self._tokens.pop(token or "", None)

    def user(self, request: Request) -> str | None:
        """The logged-in user of a request, or None (Gradio then answers 401)."""
        with self._lock:
            return self._tokens.get(request.cookies.get(SESSION_COOKIE, ""))


def create_server(
    assistant: Assistant,
    *,
    ingest_on_start: bool = False,
    max_upload_bytes: int = ui.MAX_UPLOAD_BYTES,
) -> FastAPI:
    """The page as an ASGI app. With RAG_AUTH set, every Gradio route needs a session and the
    page itself sends a visitor without one to a Vietnamese login form (Gradio's own login
    page is in English only: its translations load after the login)."""
    blocks = create_app(
        assistant, ingest_on_start=ingest_on_start, max_upload_bytes=max_upload_bytes
    )
    server = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    users = ui.parse_auth(assistant.settings.auth)
    sessions = Sessions(users) if users else None
    if sessions is not None:

        @server.middleware("http")
        async def login_first(request: Request, call_next):
            if (
                request.method in ("GET", "HEAD")
                and request.url.path == "/"
                and sessions.user(request) is None
            ):
                return RedirectResponse(LOGIN_PATH, status_code=303)
            return await call_next(request)

        @server.get(LOGIN_PATH, response_class=HTMLResponse)
        def login_page() -> str:
            return ui.login_html(LOGIN_PATH)

        @server.post(LOGIN_PATH)
        async def login(request: Request):
            form = await request.form()
            token = sessions.login(str(form.get("username", "")), str(form.get("password", "")))
            if token is None:
                return HTMLResponse(ui.login_html(LOGIN_PATH, ui.LOGIN_FAILED), status_code=401)
            response = RedirectResponse("/", status_code=303)
            response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict")
            return response

        @server.get(LOGOUT_PATH)
        def logout(request: Request):
            sessions.logout(request.cookies.get(SESSION_COOKIE))
            response = RedirectResponse(LOGIN_PATH, status_code=303)
            response.delete_cookie(SESSION_COOKIE)
            return response

    return gr.mount_gradio_app(
        server,
        blocks,
        path="/",
        server_name=assistant.settings.host,
        server_port=assistant.settings.port,
        auth_dependency=sessions.user if sessions is not None else None,
        **page_options(max_upload_bytes),
    )


def main() -> None:
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    # The page's own requests to itself are not news for the person who started it.
    for name in ("httpx", "httpcore", "chromadb", "urllib3"):
        logging.getLogger(name).setLevel(logging.WARNING)
    try:
        settings = Settings.from_env()
        ui.parse_auth(settings.auth)
    except (ConfigError, ValueError) as exc:
        print(f"Lỗi cấu hình: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    assistant = Assistant.from_settings(settings)
    server = create_server(assistant, ingest_on_start=True)
    log.info("Trang hỏi đáp: http://%s:%d/", settings.host, settings.port)
    uvicorn.run(server, host=settings.host, port=settings.port, log_level="warning")


if __name__ == "__main__":
    main()
