"""Progress of long runs (`Store.sync`'s stages, an evaluation) for the CLIs, on stderr.

In: (stage, done, total) calls. Out: one tqdm bar per stage on a terminal; when stderr is not a
terminal (a log file, a pipe, CI), plain lines such as "Đọc tệp: 50/200" at each quarter.
Never writes to stdout (so `--json` stays clean), never writes escape codes or carriage returns
where no terminal reads them.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TextIO

STAGE_LABELS = {
    "load": "Đọc tệp",
    "embed": "Nhúng",
    "tokenize": "Tách từ",
    "write": "Ghi Chroma",
    "bm25": "Chỉ mục BM25",
}
# Lines per stage in plain mode: its start, then each quarter done.
_PLAIN_STEPS = 4


def progress_bars(
    always: bool = False,
) -> tuple[Callable[[str, int, int], None], Callable[[], None]]:
    """(update, close). Bars on a terminal; elsewhere plain lines when `always` is set, else
    nothing."""
    stream = sys.stderr
    if _is_terminal(stream):
        return _bars(stream)
    if always:
        return _plain_lines(stream)
    return (lambda stage, done, total: None), (lambda: None)


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or stand-in stream
        return False


def _label(stage: str) -> str:
    return STAGE_LABELS.get(stage, stage)


def _bars(stream: TextIO) -> tuple[Callable[[str, int, int], None], Callable[[], None]]:
    from tqdm import tqdm

    bars: dict[str, tqdm] = {}

    def update(stage: str, done: int, total: int) -> None:
        bar = bars.get(stage)
        if bar is None:
            bar = bars[stage] = tqdm(
                total=total, desc=_label(stage), unit="", leave=False, file=stream
            )
        bar.total = total
        bar.n = done
        bar.refresh()

    def close() -> None:
        for bar in bars.values():
            bar.close()

    return update, close


def _plain_lines(stream: TextIO) -> tuple[Callable[[str, int, int], None], Callable[[], None]]:
    shown: dict[str, int] = {}  # stage -> last step written (0 = started, _PLAIN_STEPS = done)

    def update(stage: str, done: int, total: int) -> None:
        step = _PLAIN_STEPS if total <= 0 else min(_PLAIN_STEPS, done * _PLAIN_STEPS // total)
        if stage in shown and step <= shown[stage]:
            return
        shown[stage] = step
        print(f"{_label(stage)}: {done}/{total}", file=stream, flush=True)

    return update, lambda: None
