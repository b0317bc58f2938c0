"""`python -m eval.bench`: the benchmark on its own, and the worker process of one measurement.

In: `_worker TARGET KIND ARGS...` (from `eval.bench.in_subprocess`) or the benchmark's options.
Out: the measurement as JSON in TARGET, or the reports of `eval.bench.run`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from eval.bench import add_arguments, run
from eval.bench.measure import ModelUnavailableError, SizeJob, bench_size
from eval.bench.models import bench_bundled, bench_embedding


def _worker(argv: list[str]) -> None:
    target, kind, *rest = argv
    try:
        if kind == "size":
            result = bench_size(SizeJob(**json.loads(rest[0])))
        elif kind == "bundled":
            result = bench_bundled(int(rest[0]))
        else:
            folder, seed, xquad = rest
            result = bench_embedding(Path(folder), int(seed), Path(xquad))
    except ModelUnavailableError as exc:
        result = {"error": str(exc)}
    Path(target).write_text(json.dumps(result), "utf-8")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_worker":
        _worker(sys.argv[2:])
        sys.exit(0)
    _parser = argparse.ArgumentParser(prog="python -m eval.bench")
    add_arguments(_parser)
    sys.exit(run(_parser.parse_args()))
