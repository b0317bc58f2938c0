"""The page's feedback log: one vote per answer, in `feedback.jsonl` under the data folder.

In: a vote record (`ui.feedback_record`) carrying the answer's `id`. Out: a JSONL file with one
line per answer id, where a later vote on the same answer replaces the earlier one and the
oldest answers are dropped once the file would exceed its size cap.
Never leaves a half-written file (the new log replaces the old one in one rename), and never
loses a vote to another process writing at the same time (an exclusive lock around the read,
the trim and the rename, shared by every process using the data folder).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from rag.sync import file_lock

MAX_FEEDBACK_BYTES = 2 * 2**20


def record_vote(path: Path, record: dict, max_bytes: int = MAX_FEEDBACK_BYTES) -> None:
    """Write `record` to the log at `path`, replacing any vote with the same `id`."""
    # Without the lock two writers read the same log and the later rename drops the other's vote.
    with file_lock(path.parent, f".{path.name}.lock"):
        _rewrite(path, record, max_bytes)


def _rewrite(path: Path, record: dict, max_bytes: int) -> None:
    try:
        lines = path.read_text("utf-8").splitlines()
    except FileNotFoundError:
        lines = []
    lines = [line for line in lines if _answer_id(line) != record["id"]]
    lines.append(json.dumps(record, ensure_ascii=False))
    sizes = [len(line.encode("utf-8")) + 1 for line in lines]
    total, first = sum(sizes), 0
    while total > max_bytes and first < len(lines) - 1:  # the newest vote always stays
        total -= sizes[first]
        first += 1
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".feedback-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write("".join(line + "\n" for line in lines[first:]))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _answer_id(line: str) -> str | None:
    try:
        record = json.loads(line)
    except ValueError:
        return None
    return record.get("id") if isinstance(record, dict) else None
