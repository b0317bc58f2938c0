"""`python -m rag`: ingest, search, ask and info, as DESIGN.md's contract describes.

In: command-line arguments and `Settings`. Out: text for people, or the JSON of the contract
with `--json`. Errors are one line on stderr: exit 2 for bad input, 1 for a failure.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import signal
import sys
import threading
import warnings
from pathlib import Path
from typing import NoReturn

from rag.config import RETRIEVAL_MODES, Settings
from rag.errors import ConfigError, UsageError, one_line
from rag.progress import progress_bars

# As RAG_TOP_K: more passages than an answer can cite only slows the answer.
MAX_K = 50

# argparse's own messages (Python 3.11), in Vietnamese; the values it quotes stay as typed.
_ARGPARSE_MESSAGES = (
    (re.compile(r"^argument ([^:]+): "), r"\1: "),
    (re.compile(r"the following arguments are required: "), "thiếu "),
    (re.compile(r"unrecognized arguments: "), "không hiểu đối số: "),
    (re.compile(r"invalid choice: (.*) \(choose from (.*)\)"), r"không có \1 (chọn \2)"),
    (re.compile(r"expected one argument"), "cần một giá trị"),
    (re.compile(r"ambiguous option: (\S+) could match (.*)"), r"\1 có thể là \2"),
)


class _Parser(argparse.ArgumentParser):
    """argparse whose errors are the CLI's: one Vietnamese line on stderr, exit 2."""

    def error(self, message: str) -> NoReturn:
        for pattern, vietnamese in _ARGPARSE_MESSAGES:
            message = pattern.sub(vietnamese, message)
        print(f"Lỗi: {one_line(message)} (xem {self.prog} -h)", file=sys.stderr)
        raise SystemExit(2)


def _top_k(value: str) -> int:
    try:
        k = int(value)
    except ValueError:
        k = 0
    if not 1 <= k <= MAX_K:
        raise argparse.ArgumentTypeError(
            f"cần một số nguyên từ 1 đến {MAX_K}, không phải {value!r}"
        )
    return k


def _mode(value: str) -> str:
    if value not in RETRIEVAL_MODES:
        raise argparse.ArgumentTypeError(
            f"chọn một trong {', '.join(RETRIEVAL_MODES)}, không phải {value!r}"
        )
    return value


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m rag", description="Hỏi đáp tài liệu tiếng Việt có trích dẫn.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="lệnh")

    ingest = sub.add_parser("ingest", help="nạp một thư mục (mặc định RAG_CORPUS_DIR) vào chỉ mục")
    ingest.add_argument("path", nargs="?", help="thư mục hoặc tệp")
    ingest.add_argument(
        "--rebuild",
        action="store_true",
        help="bỏ chỉ mục và Chroma hiện có (kể cả khi hỏng) rồi nạp lại thư mục từ đầu",
    )
    ingest.add_argument("--json", action="store_true")

    remove = sub.add_parser("remove", help="gỡ tài liệu khỏi chỉ mục theo doc_id")
    remove.add_argument("doc_ids", nargs="+")
    remove.add_argument("--json", action="store_true")

    for name, text in (("search", "tìm các đoạn liên quan"), ("ask", "hỏi và nhận câu trả lời")):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("question", metavar="câu-hỏi")
        cmd.add_argument(
            "-k", type=_top_k, default=None, help=f"số đoạn, 1-{MAX_K} (mặc định RAG_TOP_K)"
        )
        cmd.add_argument(
            "--mode", type=_mode, default=None, help=f"chế độ tìm: {', '.join(RETRIEVAL_MODES)}"
        )
        cmd.add_argument("--doc", action="append", default=None, help="chỉ tìm trong doc_id này")
        cmd.add_argument("--outlet", default=None, help="chỉ tìm bài của cơ quan báo này")
        cmd.add_argument(
            "--from", dest="date_from", default=None, help="từ ngày (17/02/2023 hoặc 2023-02-17)"
        )
        cmd.add_argument(
            "--to", dest="date_to", default=None, help="đến ngày (17/02/2023 hoặc 2023-02-17)"
        )
        cmd.add_argument("--json", action="store_true")

    info = sub.add_parser("info", help="tình trạng chỉ mục và cấu hình")
    info.add_argument("--json", action="store_true")
    return parser


def _filters(args):
    from rag.errors import DateError
    from rag.filters import Filters

    try:
        return Filters.of(args.date_from, args.date_to, args.outlet, args.doc)
    except DateError as exc:
        raise UsageError(str(exc)) from None


def _check_filters(assistant, filters) -> None:
    """A document or outlet the index does not hold is a typo, not a search with no result."""
    if filters is None:
        return
    documents = assistant.documents()
    known = {d.doc_id for d in documents}
    unknown = [d for d in filters.doc_ids or () if d not in known]
    if unknown:
        raise UsageError(f"--doc: không có tài liệu {unknown[0]!r} trong chỉ mục")
    outlets = sorted({d.outlet for d in documents if d.outlet})
    if filters.outlet is not None and filters.outlet not in outlets:
        shown = ", ".join(outlets[:5]) + (", …" if len(outlets) > 5 else "")
        raise UsageError(
            f"--outlet: không có nguồn {filters.outlet!r} trong chỉ mục (có: {shown or 'không nguồn nào'})"
        )


def _print_json(payload) -> None:
    print(json.dumps(payload, ensure_ascii=False, indent=2))


def cmd_ingest(args, settings: Settings) -> int:
    from rag.assistant import Assistant

    path = Path(args.path) if args.path else Path(settings.corpus_dir)
    if not path.exists():
        raise UsageError(f"Không tìm thấy đường dẫn: {path}")
    if args.rebuild and not path.is_dir():
        raise UsageError(f"--rebuild cần một thư mục: {path}")
    # Not repaired on opening: a rebuild must not open the store it is replacing, and a sync
    # repairs what it reads itself.
    assistant = Assistant.from_settings(settings, repair=False)
    update, close = progress_bars()
    try:
        # The snapshot is committed (and searchable) before the vectors are embedded: a kill
        # during the progress bar loses no finished vector, and the next ingest resumes.
        ingested = assistant.ingest(path, rebuild=args.rebuild, progress=update)
    finally:
        close()
    report = ingested.report
    if args.json:
        _print_json(report.to_json())
    else:
        print(
            f"Thêm {report.added}, cập nhật {report.updated}, xoá {report.deleted}, "
            f"giữ nguyên {report.unchanged} tài liệu; chỉ mục có {report.chunks} đoạn."
        )
    for f in ingested.refused:
        print(f"Bỏ qua {f.name}: {f.reason}", file=sys.stderr)
    succeeded = report.added + report.updated + report.deleted + report.unchanged
    if not succeeded:
        if not ingested.refused:
            print(f"Không có tệp nào được hỗ trợ trong {path}.", file=sys.stderr)
        return 2
    return 0


def cmd_remove(args, settings: Settings) -> int:
    from rag.assistant import Assistant

    assistant = Assistant.from_settings(settings, repair=False)
    indexed = {d.doc_id for d in assistant.documents()}
    unknown = [d for d in args.doc_ids if d not in indexed]
    report = assistant.remove(args.doc_ids)
    if args.json:
        _print_json(report.to_json())
    else:
        print(f"Đã gỡ {report.deleted} tài liệu; chỉ mục còn {report.chunks} đoạn.")
    for d in unknown:
        print(f"Không có trong chỉ mục: {d}", file=sys.stderr)
    return 2 if unknown and not report.deleted else 0


def _indexed_assistant(settings: Settings):
    """The assistant, or UsageError when its index holds nothing to search."""
    from rag.assistant import Assistant

    assistant = Assistant.from_settings(settings)
    if not assistant.status().chunks:
        raise UsageError("Chỉ mục trống: hãy chạy `python -m rag ingest` trước.")
    return assistant


def cmd_search(args, settings: Settings) -> int:
    from rag.retrieval import check_query

    question = check_query(args.question)
    filters = _filters(args)
    assistant = _indexed_assistant(settings)
    _check_filters(assistant, filters)
    hits = assistant.search(question, k=args.k, mode=args.mode, filters=filters)
    if args.json:
        _print_json(
            [
                {
                    "rank": h.rank,
                    "doc_id": h.chunk.doc_id,
                    "title": h.chunk.title,
                    "chunk_id": h.chunk.chunk_id,
                    "score": round(h.score, 6),
                    "text": h.chunk.text,
                    "start": h.chunk.start,
                    "end": h.chunk.end,
                }
                for h in hits
            ]
        )
        return 0
    if not hits:
        print("Không tìm thấy đoạn nào phù hợp.")
    for h in hits:
        print(
            f"[{h.rank}] {h.chunk.title} ({h.chunk.doc_id}, {h.chunk.start}-{h.chunk.end}, "
            f"điểm {h.score:.4f})"
        )
        print("    " + " ".join(h.chunk.text.split())[:400])
    return 0


def cmd_ask(args, settings: Settings) -> int:
    from rag.assistant import Reset
    from rag.retrieval import check_query
    from rag.types import Answer

    question = check_query(args.question)
    filters = _filters(args)
    assistant = _indexed_assistant(settings)
    _check_filters(assistant, filters)
    answer = None
    for event in assistant.stream(question, k=args.k, mode=args.mode, filters=filters):
        if isinstance(event, Reset):
            print(f"\n({event.notice})", file=sys.stderr)
        elif isinstance(event, Answer):
            answer = event
    if args.json:
        _print_json(answer.to_json())
        return 0
    if answer.notice:
        print(f"({answer.notice})")
    print(answer.text)
    for c in answer.citations:
        source = ", ".join(x for x in (c.title, c.outlet, c.date) if x)
        flag = "" if c.supported else " (chưa được xác minh)"
        print(f"[{c.n}] {source} — {c.doc_id}, ký tự {c.start}-{c.end}{flag}")
        print(f"    «{' '.join(c.quote.split())}»")
    return 0


def cmd_info(args, settings: Settings) -> int:
    from rag.assistant import Assistant
    from rag.reader import reader_for

    assistant = Assistant.from_settings(settings)
    # `info` says what `ask` would run: the reader is loaded, so every check of its weights
    # is made (a status line judges them by their file alone).
    reader_for(settings.reader)
    status = assistant.status()
    if args.json:
        _print_json(status.to_json())
    else:
        model = status.embedding_model + (
            f" (thay cho {status.requested_model}, không tải được)"
            if status.embedding_fallback
            else ""
        )
        print(f"Tài liệu: {status.documents}, đoạn: {status.chunks}")
        print(f"Mô hình nhúng: {model}; còn {status.vectors_pending} đoạn chờ nhúng")
        print(f"Chỉ mục phản ánh thư mục: {status.corpus or 'chưa nạp thư mục nào'}")
        print(f"LLM: {status.llm or 'không (trả lời trích xuất)'}")
        reader = {"bundled": "kèm theo (rag/reader_weights.npz)", "off": "tắt (RAG_READER=off)"}
        print(f"Bộ đọc: {reader.get(status.reader, status.reader)}")
        chroma = settings.chroma_endpoint
        print(f"Chroma: {f'máy chủ {chroma}' if chroma else 'nhúng trong thư mục dữ liệu'}")
        print(f"Chế độ tìm kiếm: {status.retrieval_mode}; dữ liệu: {status.data_dir}")
    return 0


COMMANDS = {
    "ingest": cmd_ingest,
    "remove": cmd_remove,
    "search": cmd_search,
    "ask": cmd_ask,
    "info": cmd_info,
}


def quiet_libraries() -> logging.Handler:
    """Libraries' own chatter (telemetry, progress, deprecations) is not for the user; what is
    left reaches stderr through the returned handler, each message once and on one line."""
    warnings.filterwarnings("ignore")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLine())
    handler.addFilter(_Once())
    logging.getLogger().addHandler(handler)
    for name in (
        "chromadb",
        "httpx",
        "sentence_transformers",
        "transformers",
        "huggingface_hub",
        "urllib3",
        "bm25s",
    ):
        logging.getLogger(name).setLevel(logging.ERROR)
    return handler


def _one_line(record: logging.LogRecord) -> str:
    return one_line(record.getMessage())


class _OneLine(logging.Formatter):
    """The message alone, on one line: an exception's text may span lines, a traceback is not
    for the user."""

    def format(self, record: logging.LogRecord) -> str:
        return _one_line(record)


class _Once(logging.Filter):
    """A warning such as the model fallback may come from each part that loads the model; the
    user reads it once per command."""

    def __init__(self) -> None:
        super().__init__()
        self._seen: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        line = _one_line(record)
        if not line or line in self._seen:
            return False
        self._seen.add(line)
        return True


class _Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl+C: the same cleanup and the same one line."""


def _on_sigterm(signum, frame) -> None:
    raise _Terminated


def main(argv: list[str] | None = None) -> int:
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _on_sigterm) if in_main_thread else None
    handler = None
    try:
        args = _parser().parse_args(argv)
        handler = quiet_libraries()
        from rag.errors import QueryError, StoreError

        try:
            settings = Settings.from_env()
            return COMMANDS[args.command](args, settings)
        except (UsageError, QueryError, ConfigError) as exc:
            print(f"Lỗi: {exc}", file=sys.stderr)
            return 2
        except StoreError as exc:
            print(f"Lỗi: {exc}", file=sys.stderr)
            return 1
    except KeyboardInterrupt as exc:
        print("Đã dừng.", file=sys.stderr)
        return 128 + signal.SIGTERM if isinstance(exc, _Terminated) else 130
    finally:
        if handler is not None:
            logging.getLogger().removeHandler(handler)
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
