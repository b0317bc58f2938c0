"""The chat page: a Gradio page around `rag.Assistant`, and `main()` that serves it.

In: an `Assistant`, the only object this page talks to (answers, uploads, documents, articles,
status, background ingest). Out: a `gr.Blocks` page with a chat, linked citations, the sources of
each answer beside it (below it on a phone), uploads, the document list, settings and a one-line
status; `create_server` puts it behind an optional Vietnamese login (`rag.sessions`). What the
page shows is made by `rag.ui` (pure functions); this module only wires events to the assistant
and checks what a client sends before a handler sees it (`Page`).
Never binds beyond RAG_HOST, never shows document text unescaped, never reads a file a client
names that Gradio did not receive, and with a login never answers a route without a session.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit
from uuid import uuid4

import gradio as gr
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from gradio.exceptions import ComponentProcessingError
from gradio.utils import get_upload_folder
from gradio_client.utils import traverse

from rag import ui
from rag.assistant import Assistant, Delta, Draft, Reset
from rag.config import RETRIEVAL_MODES, Settings
from rag.errors import ConfigError, DocumentError, QueryError, StoreError
from rag.feedback import MAX_FEEDBACK_BYTES, record_vote
from rag.reader import reader_for
from rag.sessions import SESSION_COOKIE, Sessions, TooManyAttempts
from rag.ui.assets import CSS, GRADIO_TEXT_JS, SOURCES_JS
from rag.uploads import NOT_RECEIVED, received_file

log = logging.getLogger(__name__)


class ChatPage:
    """The page's event handlers; `create_app` wires them, tests call them directly."""

    def __init__(
        self,
        assistant: Assistant,
        *,
        max_upload_bytes: int = ui.MAX_UPLOAD_BYTES,
        max_feedback_bytes: int = MAX_FEEDBACK_BYTES,
        upload_dir: Path | str | None = None,
    ) -> None:
        self.assistant = assistant
        self.settings = assistant.settings
        self.max_upload_bytes = max_upload_bytes
        # Where Gradio writes the files it receives; an upload is read only from there.
        self.upload_dir = Path(upload_dir or get_upload_folder())
        self.max_feedback_bytes = max_feedback_bytes
        self.feedback_path = Path(self.settings.data_dir) / "feedback.jsonl"
        self._feedback_lock = threading.Lock()

    # -- status and document list -------------------------------------------------------------
    def status(self) -> str:
        return ui.status_html(self.assistant.status())

    def library(self) -> tuple[str, dict, dict]:
        """Document table, removal picker choices, outlet filter choices."""
        documents = self.assistant.documents()
        return (
            ui.documents_html(documents),
            gr.update(choices=ui.document_choices(documents), value=[]),
            gr.update(choices=ui.outlet_choices(documents)),
        )

    def poll(self):
        """Timer tick and page load: status, whether to keep polling (while the corpus is
        ingested or vectors are still being built), the example questions, document list."""
        return (*self._progress(), self.examples(), *self.library())

    def _progress(self) -> tuple[str, gr.Timer]:
        """The status line, and the timer that keeps it current in this tab while the index
        is being built (after an upload too, not only at load)."""
        status = self.assistant.status()
        return ui.status_html(status), gr.Timer(active=status.busy)

    def examples(self) -> gr.Dataset:
        """The example questions of the collection as it is now: it may still have been empty
        when the page was built (the first ingest runs behind it)."""
        return gr.Dataset(samples=[[q] for q in self.assistant.example_questions()])

    # -- chat ---------------------------------------------------------------------------------
    def respond(self, question, chat, turns, mode, k, date_from, date_to, outlet):
        """The answer into the chat (an LLM's token by token, a finished one at once); then
        link its citations and fill the sources."""
        chat, turns = list(chat or []), list(turns or [])
        try:
            question, mode, k = _ask_options(question, mode, k)
            filters = ui.parse_filters(date_from, date_to, outlet)
            events = self.assistant.stream(
                question,
                [(t.question, t.answer.text) for t in turns],
                k=k,
                mode=mode,
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
            elif isinstance(event, Draft):
                # The extractive answer while the LLM works: its notice says more is coming.
                shown = ui.answer_markdown(event.answer, len(turns) + 1)
                chat[-1] = {"role": "assistant", "content": shown}
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

    def ask_example(self, example, chat, turns, mode, k, date_from, date_to, outlet):
        """A click on an example question asks it at once."""
        question = example[0] if isinstance(example, (list, tuple)) and example else example
        yield from self.respond(question, chat, turns, mode, k, date_from, date_to, outlet)

    def ask_again(self, chat, turns, mode, k, date_from, date_to, outlet):
        """After "Bỏ bộ lọc": the last question once more, now over the whole collection."""
        if not turns:
            yield (gr.skip(),) * 5
            return
        question = turns[-1].question
        yield from self.respond(question, chat, turns, mode, k, date_from, date_to, outlet)

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

    def feedback(self, turns, data: gr.LikeData):
        """Record a thumbs up/down with its question, answer and citations: one vote per
        answer in feedback.jsonl, a later vote replacing the earlier one; the notice line says
        it was kept."""
        index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
        if not isinstance(data.liked, bool) or not turns or not isinstance(index, int):
            return gr.skip()
        if not 0 <= index // 2 < len(turns):
            return gr.skip()
        record = ui.feedback_record(data.liked, turns[index // 2], datetime.now(UTC))
        with self._feedback_lock:
            record_vote(self.feedback_path, record, self.max_feedback_bytes)
        return _notice(VOTE_KEPT[data.liked], error=False)

    def full_article(self, doc_id: str, marks: str) -> str:
        """The cleaned text of an indexed document (never of an arbitrary path), escaped: its
        title and body, without the share buttons, bylines and captions the file also holds."""
        try:
            article = self.assistant.article(str(doc_id))
        except DocumentError as exc:
            return f'<p class="muted">Không đọc được bài viết: {ui.escape(str(exc))}</p>'
        if article is None:
            return '<p class="muted">Không tìm thấy bài viết trong chỉ mục.</p>'
        at = article.text.find(article.title) if article.title else -1
        title = [(at, at + len(article.title))] if at >= 0 else []
        return ui.article_html(article.text, ui.parse_marks(marks), [*title, *article.body])

    # -- uploads and removal ------------------------------------------------------------------
    def upload(self, files, progress=gr.Progress()):  # noqa: B008 - Gradio injects it
        """Copy accepted files into the corpus folder and index just those; one line per file."""

        def report_progress(stage: str, done: int, total: int) -> None:
            progress(
                ui.progress_fraction(stage, done, total),
                desc=ui.progress_text(stage, done, total),
            )

        paths = [Path(f if isinstance(f, (str, os.PathLike)) else f.name) for f in files or []]
        outcomes = self.assistant.add_files(
            [(p.name, p) for p in paths],
            max_bytes=self.max_upload_bytes,
            progress=report_progress,
            received_in=self.upload_dir,
        )
        return (ui.upload_results_html(outcomes), *self._progress(), *self.library())

    def remove(self, doc_ids):
        """Take documents out of the index; their files stay in the corpus folder."""
        doc_ids = [d for d in doc_ids or [] if isinstance(d, str)]
        if not doc_ids:
            message = _notice("Chọn ít nhất một tài liệu để gỡ.")
        else:
            report = self.assistant.remove(doc_ids)
            message = (
                f"Đã gỡ {report.deleted} tài liệu khỏi chỉ mục "
                "(tệp vẫn nằm trong thư mục kho tài liệu)."
            )
        return (message, *self._progress(), *self.library())


MAX_K = 50  # as the CLI's -k; the page's slider stops at 20


def _ask_options(question, mode, k) -> tuple[str, str | None, int | None]:
    """The question, retrieval mode and number of passages of an /ask call as the assistant
    takes them; QueryError in one line for a value of the wrong kind (the page's own controls
    never send one, a client of its API may send anything)."""
    if question is not None and not isinstance(question, str):
        raise QueryError("Câu hỏi phải là văn bản.")
    if mode not in (None, "", *RETRIEVAL_MODES):
        names = ", ".join(ui.RETRIEVAL_LABELS.values())
        raise QueryError(f"Chế độ truy hồi không hợp lệ: {mode!r:.40} (chọn {names}).")
    return question or "", mode or None, _top_k(k)


def _top_k(k) -> int | None:
    if k is None or k == "":
        return None
    try:
        number = math.nan if isinstance(k, bool) else float(k)
    except (TypeError, ValueError):
        number = math.nan
    if not (number.is_integer() and 1 <= number <= MAX_K):
        raise QueryError(
            f"Số đoạn văn dùng không hợp lệ: {k!r:.40} (cần số nguyên từ 1 đến {MAX_K})."
        )
    return int(number)


VOTE_KEPT = {
    True: "Đã ghi nhận: câu trả lời hữu ích. Cảm ơn bạn!",
    False: "Đã ghi nhận: câu trả lời chưa hữu ích. Cảm ơn bạn!",
}


def _chain(first, rest):
    yield first
    yield from rest


def _notice(message: str, *, error: bool = True) -> str:
    css = "error" if error else "muted"
    return f'<span class="{css}">{ui.escape(message)}</span>'


CONCURRENT_CHATS = 8


class Page(gr.Blocks):
    """`gr.Blocks` that checks what a client sends before Gradio hands it to a handler; every
    event of the page goes through here.

    A file is taken only when Gradio received it: a regular file in its upload folder, reached
    without a link. A client names an uploaded file by path, and Gradio would otherwise copy
    whatever path (or URL) it is given into its cache before the handler runs: its own check
    is off in an app mounted on FastAPI, and never covers URLs. That holds whichever component
    carries the file (the upload box, a message in the chat history).

    A value a component cannot take (k="abc" for the slider, a mode not among the choices) is
    one Vietnamese line naming the field, not Gradio's English message or a bare error."""

    async def preprocess_data(self, block_fn, inputs, state, explicit_call=False):
        if not explicit_call:  # a call from Python code, not from a client
            for value in inputs:
                traverse(value, _received, _names_a_file)
        try:
            return await super().preprocess_data(block_fn, inputs, state, explicit_call)
        except (ComponentProcessingError, gr.Error):
            raise gr.Error(
                _bad_input(block_fn.inputs, inputs), title="Lỗi", print_exception=False
            ) from None


def _bad_input(blocks, values) -> str:
    """'Số đoạn văn dùng không hợp lệ: 'abc'.': the first value its component refuses."""
    for block, value in zip(blocks, values, strict=False):
        if getattr(block, "stateful", False):
            continue
        try:
            model = getattr(block, "data_model", None)
            block.preprocess(
                value
                if model is None
                else model.model_validate(value, context={"validate_meta": True})
            )
        except Exception:  # noqa: BLE001 - any refusal names the field
            label = getattr(block, "label", None) or "Một ô nhập"
            return f"{label} không hợp lệ: {value!r:.40}."
    return "Dữ liệu gửi lên không hợp lệ."


def _names_a_file(value) -> bool:
    return isinstance(value, dict) and isinstance(value.get("path"), str)


def _received(file: dict) -> dict:
    try:
        received_file(file["path"], get_upload_folder())
    except ui.UploadError:
        log.warning("Từ chối một tệp không do trang nhận: %r", file["path"][:200])
        raise gr.Error(
            f"Tệp bị từ chối: {NOT_RECEIVED}.", title="Lỗi", print_exception=False
        ) from None
    return file


def create_app(
    assistant: Assistant,
    *,
    ingest_on_start: bool = False,
    max_upload_bytes: int = ui.MAX_UPLOAD_BYTES,
) -> gr.Blocks:
    """The page around `assistant`. With `ingest_on_start` and an empty index, the corpus
    folder is ingested in the background while the page already answers requests."""
    assistant.start_background(ingest_corpus=ingest_on_start)
    page = ChatPage(assistant, max_upload_bytes=max_upload_bytes)
    settings = assistant.settings

    def full_article(request: dict) -> str:  # a server function gets one JSON argument
        request = request if isinstance(request, dict) else {}
        return page.full_article(str(request.get("doc", "")), str(request.get("marks", "")))

    # Not gr.ChatInterface (Gradio 6.31), though its additional_outputs could fill the sources
    # panel: it always wires retry and undo, which rewrite the chat without the turns that
    # number the source cards and key the one vote per answer; its textbox sits inside it, so on
    # a phone the sources could not come between the answer and the question box; and it shows
    # the question before the handler runs, so a refused question or filter leaves the chat
    # untouched only through its validator, whose message is not the notice line that offers
    # "Bỏ bộ lọc".
    with Page(title="Hỏi đáp tài liệu", analytics_enabled=False) as app:
        gr.Markdown("## Hỏi đáp tài liệu tiếng Việt")
        status = gr.HTML(page.status(), elem_id="status", js_on_load=None)
        timer = gr.Timer(1.0, active=assistant.status().busy)
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
        # Drawn from the collection (again at each load and while it is being built), never
        # from a fixed list; a click asks at once.
        examples = gr.Dataset(
            components=[question],
            samples=[[q] for q in assistant.example_questions()],
            label="Câu hỏi mẫu (bấm để hỏi)",
            elem_id="examples",
        )
        with gr.Accordion("Cài đặt và bộ lọc", open=False, elem_id="settings"):
            mode = gr.Radio(
                [(label, name) for name, label in ui.RETRIEVAL_LABELS.items()],
                value=settings.retrieval_mode,
                label="Chế độ truy hồi",
            )
            k = gr.Slider(1, 20, value=settings.top_k, step=1, label="Số đoạn văn dùng")
            with gr.Row():
                date_from = gr.Textbox(
                    label="Từ ngày", placeholder="01/01/2021", elem_id="date-from"
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
            # No file_types: Gradio's browser-side check refuses another type in English; the
            # server refuses it, one Vietnamese line per file.
            files = gr.File(
                label=f"Thêm tài liệu ({', '.join(ui.UPLOAD_SUFFIXES)}; tối đa "
                f"{max_upload_bytes // 2**20} MB mỗi tệp)",
                file_count="multiple",
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
        answer = [chat, turns, sources, notice, question]
        settings_in = [mode, k, *filters]
        gr.on(
            [question.submit, send.click],
            page.respond,
            [question, chat, turns, *settings_in],
            answer,
            api_name="ask",
        ).then(page.filter_offer, [turns, *filters], [clear_filters], api_visibility="private")
        examples.click(
            page.ask_example,
            [examples, chat, turns, *settings_in],
            answer,
            api_visibility="private",
        ).then(page.filter_offer, [turns, *filters], [clear_filters], api_visibility="private")
        clear_filters.click(
            page.clear_filters, None, [*filters, clear_filters, notice], api_visibility="private"
        ).then(page.ask_again, [chat, turns, *settings_in], answer, api_visibility="private").then(
            page.filter_offer, [turns, *filters], [clear_filters], api_visibility="private"
        )
        clear.click(
            page.clear, None, [chat, turns, sources, notice, clear_filters], api_name="clear"
        )
        chat.like(page.feedback, [turns], [notice])
        files.upload(
            page.upload, [files], [upload_result, status, timer, *library], api_name="upload"
        )
        remove.click(page.remove, [remove_pick], [upload_result, status, timer, *library])
        polled = [status, timer, examples, *library]
        timer.tick(page.poll, None, polled, show_progress="hidden")
        app.load(page.poll, None, polled, show_progress="hidden")
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
        "head": f"<script>{GRADIO_TEXT_JS}</script>",
        "theme": gr.themes.Default(font=["system-ui", "sans-serif"], font_mono=["monospace"]),
        "i18n": gr.I18n(en=ui.GRADIO_TRANSLATIONS),
        "ssr_mode": False,
        "show_error": False,
        "footer_links": [],
    }


LOGIN_PATH = "/dang-nhap"
LOGOUT_PATH = "/dang-xuat"
# The only paths a visitor without a session reaches: the login form and the way out.
OPEN_PATHS = (LOGIN_PATH, LOGOUT_PATH)
NOT_LOGGED_IN = "Cần đăng nhập (hoặc phiên đăng nhập đã hết hạn)."
FOREIGN_FORM = "Biểu mẫu đăng nhập phải được gửi từ chính trang này."


def create_server(
    assistant: Assistant,
    *,
    ingest_on_start: bool = False,
    max_upload_bytes: int = ui.MAX_UPLOAD_BYTES,
    clock: Callable[[], float] = time.monotonic,
) -> FastAPI:
    """The page as an ASGI app. With RAG_AUTH set, every route but the login form's needs a
    live session, and the page itself sends a visitor without one to a Vietnamese login form
    (Gradio's own login page is in English only: its translations load after the login).
    `clock` times sessions and failed logins."""
    blocks = create_app(
        assistant, ingest_on_start=ingest_on_start, max_upload_bytes=max_upload_bytes
    )
    server = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    settings = assistant.settings
    users = ui.parse_auth(settings.auth)
    sessions = (
        Sessions(
            users,
            idle=settings.session_idle_minutes * 60,
            max_age=settings.session_max_hours * 3600,
            clock=clock,
        )
        if users
        else None
    )
    if sessions is not None:
        server.state.sessions = sessions

        # An allow-list, not a list of Gradio's routes: a route a later Gradio adds (or one
        # Gradio leaves open, like cancel, reset and the OpenAPI schema) is closed too.
        @server.middleware("http")
        async def login_first(request: Request, call_next):
            if request.url.path in OPEN_PATHS or sessions.user(request) is not None:
                return await call_next(request)
            if request.method in ("GET", "HEAD") and request.url.path == "/":
                return RedirectResponse(LOGIN_PATH, status_code=303)
            return JSONResponse({"detail": NOT_LOGGED_IN}, status_code=401)

        @server.get(LOGIN_PATH, response_class=HTMLResponse)
        def login_page() -> str:
            return ui.login_html(LOGIN_PATH)

        @server.post(LOGIN_PATH)
        async def login(request: Request):
            if not same_origin(request):
                return HTMLResponse(ui.login_html(LOGIN_PATH, FOREIGN_FORM), status_code=403)
            form = await request.form()
            client = request.client.host if request.client else ""
            try:
                token = sessions.login(
                    str(form.get("username", "")), str(form.get("password", "")), client
                )
            except TooManyAttempts as exc:
                return HTMLResponse(
                    ui.login_html(LOGIN_PATH, str(exc)),
                    status_code=429,
                    headers={"Retry-After": str(math.ceil(exc.wait))},
                )
            if token is None:
                return HTMLResponse(ui.login_html(LOGIN_PATH, ui.LOGIN_FAILED), status_code=401)
            response = RedirectResponse("/", status_code=303)
            response.set_cookie(
                SESSION_COOKIE,
                token,
                max_age=math.ceil(sessions.max_age),
                httponly=True,
                samesite="strict",
            )
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
        server_name=settings.host,
        server_port=settings.port,
        auth_dependency=sessions.user if sessions is not None else None,
        **page_options(max_upload_bytes),
    )


def same_origin(request: Request) -> bool:
    """Whether a form post comes from a page of this server: its Origin (else its Referer)
    names the host the request was sent to, or the one a reverse proxy says it was sent to
    (X-Forwarded-Host; a form on another site cannot set that header). A post from another
    site, or one that hides where it comes from, is refused: browsers send Origin with every
    form post."""
    source = request.headers.get("origin") or request.headers.get("referer") or ""
    parts = urlsplit(source)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False
    forwarded = request.headers.get("x-forwarded-host", "").split(",")[0]
    hosts = {h.strip().lower() for h in (request.headers.get("host", ""), forwarded) if h.strip()}
    return parts.netloc.lower() in hosts


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
    try:
        assistant = Assistant.from_settings(settings)
        # The reader (torch and ~70 MB of weights) loads while the page starts, not on the
        # first question.
        threading.Thread(target=reader_for, args=(settings.reader,), daemon=True).start()
        # Starting the background work opens Chroma: a server that is down is found here.
        server = create_server(assistant, ingest_on_start=True)
    except StoreError as exc:  # an unreachable Chroma server, a broken store: one line
        print(f"Lỗi: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    log.info("Trang hỏi đáp: http://%s:%d/", settings.host, settings.port)
    uvicorn.run(server, host=settings.host, port=settings.port, log_level="warning")


if __name__ == "__main__":
    main()
