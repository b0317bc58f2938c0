"""Work on the index behind the page, so that it opens and answers at once.

In: an optional ingest (the corpus on first start) and the vector build, as callables taking a
progress callback. Out: a daemon thread running them, its current (stage, done, total) and the
last error, for the status line. Never lets an error escape the thread: it is logged and kept.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from rag.errors import describe

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]


class Background:
    """The first-start ingest, then vectors for whatever the committed snapshot lacks (after
    that ingest, an upload, or a build killed earlier)."""

    def __init__(self, build_vectors: Callable[[Progress], int]) -> None:
        self._build_vectors = build_vectors
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._again = False
        self.stage: tuple[str, int, int] | None = None
        self.error: str | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, ingest: Callable[[Progress], None] | None = None) -> None:
        """Run `ingest` (lexical search works as soon as it commits), then build vectors; with
        no ingest, only build vectors. A call while running makes the builder look again."""
        with self._lock:
            if self.running:
                self._again = True
                return
            self.stage = ("load", 0, 0) if ingest is not None else ("embed", 0, 0)
            self._thread = threading.Thread(target=self._run, args=(ingest,), daemon=True)
            self._thread.start()

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def current(self) -> tuple[str, int, int] | None:
        with self._lock:
            return self.stage if self.running else None

    def _progress(self, stage: str, done: int, total: int) -> None:
        with self._lock:
            self.stage = (stage, done, total)

    def _run(self, ingest: Callable[[Progress], None] | None) -> None:
        try:
            if ingest is not None:
                ingest(self._progress)
            while True:
                self._build_vectors(self._progress)
                with self._lock:
                    if not self._again:
                        return
                    self._again = False
        except Exception as exc:  # shown on the status line; the page keeps working
            log.exception("Nạp kho tài liệu thất bại")
            self.error = describe(exc)
        finally:
            with self._lock:
                self.stage = None
