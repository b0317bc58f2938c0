"""Terminal progress bars for `Store.sync`'s progress callback, shared by the CLIs.

In: (stage, done, total) calls. Out: one tqdm bar per ingest stage on stderr, never on stdout,
so `--json` output stays clean.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

STAGE_LABELS = {
    "load": "Đọc tệp",
    "embed": "Nhúng",
    "tokenize": "Tách từ",
    "write": "Ghi Chroma",
    "bm25": "Chỉ mục BM25",
}


def progress_bars(
    always: bool = False,
) -> tuple[Callable[[str, int, int], None], Callable[[], None]]:
    """(update, close). Bars show on a terminal, or always when `always` is set."""
    from tqdm import tqdm

    bars: dict[str, tqdm] = {}

    def update(stage: str, done: int, total: int) -> None:
        bar = bars.get(stage)
        if bar is None:
            bar = bars[stage] = tqdm(
                total=total,
                desc=STAGE_LABELS.get(stage, stage),
                unit="",
                leave=False,
                disable=False if always else None,
                file=sys.stderr,
            )
        bar.total = total
        bar.n = done
        bar.refresh()

    def close() -> None:
        for bar in bars.values():
            bar.close()

    return update, close
