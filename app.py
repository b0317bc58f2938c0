"""The chat page: a Gradio page around `rag.Assistant`, and `main()` that serves it.

In: an `Assistant` (store, retriever, answerer). Out: a `gr.Blocks` page with a streamed chat,
linked citations, a sources panel, uploads, the document list, settings and a status line.
Formatting lives in `rag/ui.py` (pure functions); this module only wires events to the
assistant. Never binds beyond RAG_HOST and never shows document text unescaped.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
import threading
from datetime import UTC, datetime
from pathlib import Path

import gradio as gr

from rag import ui
from rag.chain import Assistant, Delta, Reset
from rag.config import ConfigError, Settings
from rag.documents import DocumentError, load_document
from rag.retrieval import QueryError
from rag.store import StoreError

log = logging.getLogger(__name__)

EXAMPLES = [
    "Ai là Trưởng Ban chỉ đạo Chương trình số 06-Ctr/ĐUK?",
    "Kế hoạch số 51-KH/ĐUK được triển khai tới bao nhiêu chi bộ?",
    "Từ năm 2017 đã tổ chức bao nhiêu lớp trung cấp chính trị?",
]

CSS = """
#status { font-size: 0.9em; color: var(--body-text-color-subdued); }
#status .busy { color: var(--color-accent); font-weight: 600; }
#status .error, #notice .error { color: #b91c1c; }
#chat a.cite { text-decoration: none; font-weight: 600; font-size: 0.85em; vertical-align: super; }
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
.uploads li.failed { color: #b91c1c; }
table.documents { font-size: 0.9em; }
"""

# Citation links open their card (and the answer's section) in the sources panel; each card's
# "Xem toàn bài" button fetches the full article from the server on first use.
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
  if (box.dataset.loaded) { box.hidden = !box.hidden; return; }
  button.disabled = true;
  box.innerHTML = await server.full_article(
    {doc: button.dataset.doc, marks: button.dataset.marks});
  box.dataset.loaded = '1';
  button.disabled = false;
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
    ) -> None:
        self.assistant = assistant
        self.settings = assistant.settings
        self.ingestion = ingestion or Ingestion()
        self.max_upload_bytes = max_upload_bytes
        self.feedback_path = Path(self.settings.data_dir) / "feedback.jsonl"
        self._feedback_lock = threading.Lock()

    # -- status and document list -------------------------------------------------------------
    def status(self) -> str:
        return ui.status_html(
            self.assistant.status(),
            requested_model=self.settings.embedding_model,
            llm_url=self.settings.llm_base_url,
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
        """Timer tick and page load: status, document list, and whether to keep polling."""
        running = self.ingestion.running
        return (self.status(), gr.Timer(active=running), *self.library())

    # -- chat ---------------------------------------------------------------------------------
    def respond(self, question, chat, turns, mode, k, date_from, date_to, outlet):
        """Stream the answer into the chat; then link its citations and fill the sources."""
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
        except (QueryError, ui.FilterError) as exc:
            yield chat, turns, gr.skip(), _notice(str(exc)), gr.skip()
            return
        except StoreError as exc:
            yield chat, turns, gr.skip(), _notice(str(exc)), gr.skip()
            return
        chat.append({"role": "user", "content": ui.question_markdown(question.strip())})
        chat.append({"role": "assistant", "content": ""})
        streamed, notice = "", ""
        answer = None
        for event in _chain(first, events):
            if isinstance(event, Delta):
                streamed += event.text
                chat[-1] = {"role": "assistant", "content": ui.streaming_markdown(streamed)}
                yield list(chat), turns, gr.skip(), notice, ""
            elif isinstance(event, Reset):
                streamed, notice = "", _notice(event.notice, error=False)
            else:
                answer = event
        turns.append(ui.Turn(answer.question or question.strip(), answer))
        chat[-1] = {"role": "assistant", "content": ui.answer_markdown(answer, len(turns))}
        yield chat, turns, ui.sources_html(turns), "", ""

    def clear(self):
        return [], [], ui.NO_SOURCES, ""

    def feedback(self, turns, data: gr.LikeData) -> None:
        """Append a thumbs up/down with its question, answer and citations to feedback.jsonl."""
        index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
        if not isinstance(data.liked, bool) or not turns or index // 2 >= len(turns):
            return
        record = ui.feedback_record(data.liked, turns[index // 2], datetime.now(UTC))
        with self._feedback_lock:
            self.feedback_path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.feedback_path, "a", encoding="utf-8") as f:
                f.write(ui.feedback_line(record))

    def full_article(self, doc_id: str, marks: str) -> str:
        """The full text of an indexed document (never of an arbitrary path), escaped."""
        record = self.assistant.store.snapshot.docs.get(str(doc_id))
        if not record or not record.get("source"):
            return '<p class="muted">Không tìm thấy bài viết trong chỉ mục.</p>'
        try:
            article = load_document(Path(record["source"]), Path(record.get("root") or "."))
        except (DocumentError, OSError) as exc:
            return f'<p class="muted">Không đọc được bài viết: {ui.escape(str(exc))}</p>'
        return ui.article_html(article.text, ui.parse_marks(marks))

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

    with gr.Blocks(title="Hỏi đáp tài liệu", analytics_enabled=False) as app:
        gr.Markdown("## Hỏi đáp tài liệu tiếng Việt")
        status = gr.HTML(page.status(), elem_id="status", js_on_load=None)
        timer = gr.Timer(1.0, active=ingestion.running)
        turns = gr.State([])
        with gr.Row():
            with gr.Column(scale=3):
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
                notice = gr.HTML("", elem_id="notice", js_on_load=None)
                with gr.Row():
                    question = gr.Textbox(
                        elem_id="question",
                        show_label=False,
                        placeholder="Nhập câu hỏi rồi nhấn Enter…",
                        scale=5,
                        max_lines=4,
                    )
                    send = gr.Button("Gửi", variant="primary", scale=1, elem_id="send")
                clear = gr.Button("Xoá hội thoại", size="sm", elem_id="clear")
                gr.Examples(EXAMPLES, inputs=[question], label="Câu hỏi mẫu")
                with gr.Accordion("Cài đặt", open=False, elem_id="settings"):
                    mode = gr.Radio(
                        [(label, name) for name, label in ui.RETRIEVAL_LABELS.items()],
                        value=settings.retrieval_mode,
                        label="Chế độ truy hồi",
                    )
                    k = gr.Slider(1, 20, value=settings.top_k, step=1, label="Số đoạn văn dùng")
                    with gr.Row():
                        date_from = gr.Textbox(label="Từ ngày", placeholder="2021-01-01")
                        date_to = gr.Textbox(label="Đến ngày", placeholder="31/12/2023")
                    outlet = gr.Dropdown(
                        [("Tất cả", "")], value="", label="Nguồn báo", allow_custom_value=True
                    )
            with gr.Column(scale=2):
                gr.Markdown("### Nguồn")
                sources = gr.HTML(
                    ui.NO_SOURCES,
                    elem_id="sources",
                    js_on_load=SOURCES_JS,
                    server_functions=[full_article],
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
        gr.on(
            [question.submit, send.click],
            page.respond,
            [question, chat, turns, mode, k, date_from, date_to, outlet],
            [chat, turns, sources, notice, question],
            api_name="ask",
        )
        clear.click(page.clear, None, [chat, turns, sources, notice], api_name="clear")
        chat.like(page.feedback, [turns], None)
        files.upload(page.upload, [files], [upload_result, status, *library], api_name="upload")
        remove.click(page.remove, [remove_pick], [upload_result, status, *library])
        timer.tick(page.poll, None, [status, timer, *library], show_progress="hidden")
        app.load(page.poll, None, [status, timer, *library], show_progress="hidden")
    # Chats wait mostly on the LLM or on each other's CPU: several run at once, each with its
    # own conversation state; uploads take the store's lock and swap the index atomically.
    app.queue(default_concurrency_limit=CONCURRENT_CHATS)
    return app


def launch_options(settings: Settings) -> dict:
    """Arguments of `launch()`: localhost unless told otherwise, optional login, no fonts or
    scripts from the internet."""
    auth = ui.parse_auth(settings.auth)
    return {
        "server_name": settings.host,
        "server_port": settings.port,
        "auth": auth or None,
        "auth_message": "Đăng nhập để dùng trợ lý hỏi đáp tài liệu." if auth else None,
        "max_file_size": ui.MAX_UPLOAD_BYTES,
        "css": CSS,
        "theme": gr.themes.Default(font=["system-ui", "sans-serif"], font_mono=["monospace"]),
        "ssr_mode": False,
        "show_error": False,
        "footer_links": [],
    }


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    # The page's own requests to itself are not news for the person who started it.
    for name in ("httpx", "httpcore", "chromadb", "urllib3"):
        logging.getLogger(name).setLevel(logging.WARNING)
    try:
        settings = Settings.from_env()
        options = launch_options(settings)
    except (ConfigError, ValueError) as exc:
        print(f"Lỗi cấu hình: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    assistant = Assistant.from_settings(settings)
    create_app(assistant, ingest_on_start=True).launch(**options)


if __name__ == "__main__":
    main()
