"""Instruments on an index build: time per sync stage, and the model's own account of embedding.

In: `Store.sync` / `Store.build_vectors` progress events; the `LoadedEmbedder` a store embeds
with. Out: seconds per stage, a log line a minute on long builds, and a ledger of the passages,
characters and seconds the model spent, summed over every run that built one kept folder (a
killed build that is resumed adds to it). Never changes what is embedded or stored.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

LOG_EVERY_S = 60.0


class StageClock:
    """Seconds per `Store.sync` progress stage, from the stage's first event to the next's; on
    builds that take minutes, one progress line on stderr a minute."""

    def __init__(self, label: str = "") -> None:
        self.stages: dict[str, float] = {}
        self.label = label
        self._stage: str | None = None
        self._since = time.perf_counter()
        self.start = self._since
        self._logged = self._since

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage != self._stage:
            self._close()
            self._stage = stage
        now = time.perf_counter()
        if now - self._logged >= LOG_EVERY_S:
            self._logged = now
            print(
                f"  {self.label} {stage}: {done:,}/{total:,} ({now - self.start:.0f} s)",
                file=sys.stderr,
                flush=True,
            )

    def _close(self) -> None:
        now = time.perf_counter()
        if self._stage is not None:
            self.stages[self._stage] = self.stages.get(self._stage, 0.0) + now - self._since
        self._since = now

    def finish(self) -> float:
        self._close()
        self._stage = None
        return time.perf_counter() - self.start


class VectorLedger:
    """Passages, characters, wall and CPU seconds the model spent embedding passages for one
    folder, over every run; written (atomically) after each batch, so a kill loses at most the
    batch in flight, which the vector cache does not hold either."""

    FIELDS = ("passages", "chars", "seconds", "cpu_s")

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            saved = json.loads(self.path.read_text("utf-8"))
            self.totals = {k: saved.get(k, 0) for k in self.FIELDS}
        except (OSError, ValueError):
            self.totals = dict.fromkeys(self.FIELDS, 0)
        self.this_run = dict.fromkeys(self.FIELDS, 0)
        self.recording = False

    @contextmanager
    def record(self) -> Iterator[None]:
        """Count the passages embedded inside this block: the vector build, not the answerer's
        sentence similarity, which embeds through the same object."""
        self.recording = True
        try:
            yield
        finally:
            self.recording = False

    def add(self, passages: int, chars: int, seconds: float, cpu_s: float) -> None:
        for book in (self.totals, self.this_run):
            book["passages"] += passages
            book["chars"] += chars
            book["seconds"] += seconds
            book["cpu_s"] += cpu_s
        scratch = self.path.with_suffix(".tmp")
        scratch.write_text(json.dumps(self.totals), "utf-8")
        os.replace(scratch, self.path)

    def wrap(self, loaded):
        """`loaded` with its embedder counted by this ledger (passages only, not questions)."""
        return replace(loaded, embedder=CountedEmbeddings(loaded.embedder, self))

    def summary(self) -> dict:
        def rate(book: dict, per: str) -> int | None:
            return round(book["chars"] / book[per]) if book[per] else None

        return {
            "this_run": {k: round(v, 2) for k, v in self.this_run.items()},
            "all_runs": {k: round(v, 2) for k, v in self.totals.items()},
            "chars_per_s": rate(self.totals, "seconds"),
            "chars_per_cpu_s": rate(self.totals, "cpu_s"),
        }


class CountedEmbeddings:
    """The store's embedder, unchanged, with the passage batches of a vector build entered in a
    `VectorLedger`.
    Anything else (questions, token counts, dimension) goes straight to the wrapped one."""

    def __init__(self, inner, ledger: VectorLedger) -> None:
        self.inner = inner
        self.ledger = ledger

    def __getattr__(self, name: str):
        return getattr(self.inner, name)

    def embed_array(self, texts, *, is_query: bool = False, show_progress: bool | None = None):
        wall, cpu = time.perf_counter(), time.process_time()
        vectors = self.inner.embed_array(texts, is_query=is_query, show_progress=show_progress)
        if self.ledger.recording and not is_query:
            self.ledger.add(
                len(texts),
                sum(len(t) for t in texts),
                time.perf_counter() - wall,
                time.process_time() - cpu,
            )
        return vectors
