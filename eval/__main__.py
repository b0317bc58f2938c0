"""`python -m eval`: run a question set, import a SQuAD file, benchmark, as DESIGN.md describes.

In: command-line arguments and `Settings` (RAG_* variables). Out: report.json, report.md,
results.jsonl and PNG plots in --out, and a one-screen summary on stdout; progress on stderr.
Errors are one line on stderr: exit 2 for bad input, 1 for a failure.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from rag.config import RETRIEVAL_MODES, Settings
from rag.errors import ConfigError, UsageError
from rag.progress import progress_bars

REPO = Path(__file__).resolve().parent.parent


def _modes(value: str) -> list[str]:
    modes = [m.strip() for m in value.split(",") if m.strip()]
    bad = [m for m in modes if m not in RETRIEVAL_MODES]
    if bad or not modes:
        raise argparse.ArgumentTypeError(
            f"chế độ không hợp lệ: {', '.join(bad) or value!r} (chọn trong {', '.join(RETRIEVAL_MODES)})"
        )
    return list(dict.fromkeys(modes))


def _positive(value: str) -> int:
    n = int(value)
    if n < 1:
        raise argparse.ArgumentTypeError("cần một số nguyên dương")
    return n


def _common(cmd: argparse.ArgumentParser, out: str) -> None:
    cmd.add_argument(
        "--modes",
        type=_modes,
        default=None,
        help="vd. lexical,dense,hybrid (mặc định: RAG_RETRIEVAL_MODE)",
    )
    cmd.add_argument(
        "--out", type=Path, default=Path(out), help=f"thư mục báo cáo (mặc định {out})"
    )
    cmd.add_argument("--no-diacritics", action="store_true", help="hỏi các câu hỏi đã bỏ dấu")
    cmd.add_argument(
        "--judge", action="store_true", help="chấm thêm bằng LLM (cần RAG_LLM_BASE_URL)"
    )
    cmd.add_argument(
        "--llm",
        action="store_true",
        help="trả lời qua LLM (RAG_LLM_BASE_URL, mặc định máy chủ của make llm); báo cáo cả "
        "câu trả lời trích xuất hiện trước (chế độ MODE) và câu trả lời của LLM (MODE+llm)",
    )


def _half(cmd: argparse.ArgumentParser) -> None:
    from eval.squad import HALVES

    cmd.add_argument(
        "--half",
        choices=HALVES,
        default=None,
        help="chỉ một nửa cố định các bài (sắp theo tiêu đề: vị trí chẵn = tune, lẻ = heldout)",
    )


def _parser(with_bench: bool = False) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m eval", description="Đánh giá hệ thống hỏi đáp."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="chạy bộ câu hỏi trên một kho tài liệu")
    run.add_argument("--questions", type=Path, default=Path("eval/questions.jsonl"))
    run.add_argument("--corpus", type=Path, default=None, help="mặc định RAG_CORPUS_DIR")
    _common(run, "reports/seed")

    squad = sub.add_parser("squad", help="đánh giá trên một tệp định dạng SQuAD (XQuAD, ViQuAD…)")
    squad.add_argument("file", type=Path)
    squad.add_argument("--limit", type=_positive, default=None, help="lấy mẫu đều N câu hỏi")
    _half(squad)
    squad.add_argument(
        "--leave-article-out",
        action="store_true",
        help="hỏi thêm mỗi câu trên chỉ mục không có bài của nó (câu không trả lời được)",
    )
    _common(squad, "reports/squad")

    fusion = sub.add_parser(
        "fusion", help="hit@1/hit@5 của chế độ hybrid theo trọng số dense (để chỉnh trọng số)"
    )
    fusion.add_argument("file", type=Path)
    _half(fusion)

    train = sub.add_parser(
        "train-answerer", help="học mô hình chọn câu trả lời ngắn trên nửa tune của tệp SQuAD"
    )
    from eval.answerer import add_arguments as answerer_arguments

    answerer_arguments(train)

    reader = sub.add_parser(
        "train-reader", help="huấn luyện bộ đọc (e5 + adapter) trên nửa tune của tệp SQuAD"
    )
    from eval.reader_train import add_arguments as reader_arguments

    reader_arguments(reader)

    bench = sub.add_parser("bench", help="đo tốc độ nạp và tìm kiếm theo kích thước kho")
    bench_module = None
    if with_bench:  # eval.bench is imported only when it is the command
        try:
            import eval.bench as bench_module
        except ImportError:
            bench_module = None
        if bench_module is not None:
            bench_module.add_arguments(bench)
    bench.set_defaults(bench_module=bench_module)
    return parser


def evaluate(args, settings: Settings, dataset: str, corpus: Path, questions) -> int:
    """Index `corpus` in a temporary folder, ask every question in every mode, write reports."""
    from tqdm import tqdm

    from eval import report as reporting
    from eval.questions import without_diacritics
    from eval.runner import LLM_SUFFIX, ask_all, ask_all_llm, build_report, isolated_assistant

    if args.llm:
        settings = with_llm(settings)
    if args.judge and not settings.llm_enabled:
        raise UsageError("--judge cần một LLM: đặt RAG_LLM_BASE_URL (và RAG_LLM_MODEL).")
    if args.no_diacritics:
        questions = [without_diacritics(q) for q in questions]
        dataset += " (no diacritics)"
    modes = args.modes or [settings.retrieval_mode]
    started = time.perf_counter()
    update, close = progress_bars(always=True)
    by_mode = {}
    with isolated_assistant(settings, corpus, progress=update, modes=modes) as indexed:
        close()
        assistant = indexed.assistant
        if not args.llm:
            # The extractive default's figures, whatever the shell sets (--judge may use it).
            assistant.llm = None
        n_documents = assistant.status().documents
        for mode in modes:
            with tqdm(
                total=len(questions), desc=f"Hỏi ({mode})", leave=False, file=sys.stderr
            ) as bar:
                if args.llm:
                    pairs = list(ask_all_llm(assistant, questions, mode, bar.update))
                    by_mode[mode] = [draft for draft, _ in pairs]
                    by_mode[mode + LLM_SUFFIX] = [final for _, final in pairs]
                else:
                    by_mode[mode] = list(ask_all(assistant, questions, mode, bar.update))
        if args.judge:
            _judge(assistant, settings, by_mode)
    report = build_report(dataset, questions, n_documents, by_mode, indexed.skipped)
    args.out.mkdir(parents=True, exist_ok=True)
    reporting.write_json(report, args.out)
    reporting.write_results(by_mode, args.out)
    plots = reporting.write_plots(report, by_mode, args.out)
    reporting.write_markdown(report, by_mode, args.out, plots)
    print(reporting.summary(report, time.perf_counter() - started))
    print(f"Báo cáo: {args.out / 'report.md'}")
    return 0


def with_llm(settings: Settings) -> Settings:
    """`settings` answering through RAG_LLM_BASE_URL, or the local server of `make llm`."""
    from rag.local_llm import DEFAULT_MODEL, DEFAULT_PORT

    if not settings.llm_enabled:
        settings = replace(
            settings,
            llm_base_url=f"http://127.0.0.1:{DEFAULT_PORT}/v1",
            llm_model=settings.llm_model or DEFAULT_MODEL,
        )
    _reachable(settings)
    return settings


def _reachable(settings: Settings) -> None:
    """A run whose every answer fell back to the extractive one would report nothing about
    the LLM: a server that does not answer at all stops it before it starts."""
    import urllib.error
    import urllib.request
    from urllib.parse import urlsplit

    # Only whether something answers there: no credentials needed (nor sent).
    url = f"{settings.llm_endpoint}{urlsplit(settings.llm_base_url).path.rstrip('/')}/models"
    try:
        urllib.request.urlopen(url, timeout=10).close()
    except urllib.error.HTTPError:
        return  # it answers, if only to refuse this request
    except TimeoutError:
        return  # there, but busy: llama.cpp's server answers nothing while it writes a reply
    except urllib.error.URLError as exc:
        if not isinstance(exc.reason, TimeoutError):
            raise ConnectionError(_UNREACHABLE.format(settings.llm_endpoint)) from None
    except (OSError, ValueError):
        raise ConnectionError(_UNREACHABLE.format(settings.llm_endpoint)) from None


_UNREACHABLE = "Không kết nối được LLM ở {}: chạy `make llm` trước (hoặc đặt RAG_LLM_BASE_URL)."


def _judge(assistant, settings: Settings, by_mode: dict) -> None:
    from tqdm import tqdm

    from eval.judge import embedder_of, judge_answer
    from rag.chain import make_llm

    llm = make_llm(settings)
    embed = embedder_of(assistant)
    for mode, records in by_mode.items():
        judged = []
        for r in tqdm(records, desc=f"Chấm LLM ({mode})", leave=False, file=sys.stderr):
            judged.append(replace(r, judge=judge_answer(llm, r.question.question, r.answer, embed)))
        by_mode[mode] = judged


def cmd_run(args, settings: Settings) -> int:
    from eval.questions import load_questions

    corpus = args.corpus or settings.corpus_dir
    if not Path(corpus).is_dir():
        raise UsageError(f"Không tìm thấy thư mục tài liệu: {corpus}")
    questions = load_questions(args.questions)
    return evaluate(args, settings, args.questions.name, Path(corpus), questions)


def cmd_squad(args, settings: Settings) -> int:
    from eval.squad import article_half, even_sample, left_out_copies, load_squad, write_corpus

    data = load_squad(args.file)
    dataset = args.file.name
    if args.half:
        data = article_half(data, args.half)
        dataset += f" ({args.half} half)"
    with tempfile.TemporaryDirectory(prefix="rag-squad-") as tmp:
        corpus = Path(tmp) / "corpus"
        questions = even_sample(write_corpus(data, corpus), args.limit)
        if args.leave_article_out:
            questions += left_out_copies(questions, sorted(p.name for p in corpus.iterdir()))
            dataset += " + leave-article-out"
        return evaluate(args, settings, dataset, Path(tmp) / "corpus", questions)


def cmd_fusion(args, settings: Settings) -> int:
    from eval.fusion import run

    return run(args, settings)


def cmd_bench(args, settings: Settings) -> int:
    if args.bench_module is None:
        raise UsageError("eval/bench.py chưa có: lệnh bench chưa dùng được.")
    return args.bench_module.run(args)


def cmd_train_answerer(args, settings: Settings) -> int:
    from eval.answerer import run

    return run(args)


def cmd_train_reader(args, settings: Settings) -> int:
    from eval.reader_train import run

    return run(args)


COMMANDS = {
    "run": cmd_run,
    "squad": cmd_squad,
    "fusion": cmd_fusion,
    "bench": cmd_bench,
    "train-answerer": cmd_train_answerer,
    "train-reader": cmd_train_reader,
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = _parser(with_bench=argv[:1] == ["bench"]).parse_args(argv)
    from eval.questions import QuestionFileError
    from rag.__main__ import quiet_libraries
    from rag.errors import QueryError, StoreError

    quiet_libraries()
    try:
        settings = Settings.from_env()
        return COMMANDS[args.command](args, settings)
    except (UsageError, QuestionFileError, QueryError, ConfigError) as exc:
        print(f"Lỗi: {exc}", file=sys.stderr)
        return 2
    except (StoreError, OSError) as exc:
        print(f"Lỗi: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("Đã dừng.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
