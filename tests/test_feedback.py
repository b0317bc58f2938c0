"""The feedback log keeps every vote when several processes (two pages, two workers) write it
at the same time: one exclusive lock around its read, trim and rename."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from rag.feedback import record_vote
from tests.conftest import REPO

QUESTION = "Ai là Trưởng Ban chỉ đạo Chương trình số 06-Ctr/ĐUK?"
VOTES = 300

# One page's process: waits for the common start, then casts VOTES distinct votes.
VOTER = """
import sys, time
from pathlib import Path
from rag.feedback import record_vote

log, name, start = Path(sys.argv[1]), sys.argv[2], float(sys.argv[3])
while time.time() < start:
    time.sleep(0.001)
for i in range({votes}):
    record_vote(log, {{"id": f"{{name}}-{{i}}", "vote": "up", "question": {question!r}}})
"""


@pytest.mark.slow
def test_two_processes_voting_at_once_keep_every_vote(tmp_path):
    log = tmp_path / "data" / "feedback.jsonl"
    code = VOTER.format(votes=VOTES, question=QUESTION)
    start = str(time.time() + 3)  # both interpreters are up by then
    voters = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(log), name, start],
            cwd=REPO,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("a", "b")
    ]
    for voter in voters:
        assert voter.wait(timeout=300) == 0, voter.stderr.read()
    ids = [json.loads(line)["id"] for line in log.read_text("utf-8").splitlines()]
    assert sorted(ids) == sorted(f"{n}-{i}" for n in "ab" for i in range(VOTES))
    assert not list(log.parent.glob(".feedback-*"))  # no temporary file left behind


def test_a_second_vote_on_an_answer_replaces_the_first_and_the_oldest_are_trimmed(tmp_path):
    log = tmp_path / "feedback.jsonl"
    record_vote(log, {"id": "1", "vote": "up", "question": QUESTION})
    record_vote(log, {"id": "2", "vote": "up", "question": QUESTION})
    record_vote(log, {"id": "1", "vote": "down", "question": QUESTION})
    assert [json.loads(line) for line in log.read_text("utf-8").splitlines()] == [
        {"id": "2", "vote": "up", "question": QUESTION},
        {"id": "1", "vote": "down", "question": QUESTION},
    ]
    newest = {"id": "3", "vote": "up", "question": QUESTION}
    kept = (log.read_text("utf-8").splitlines()[-1], json.dumps(newest, ensure_ascii=False))
    record_vote(log, newest, max_bytes=sum(len(x.encode()) + 1 for x in kept))
    assert [json.loads(x)["id"] for x in log.read_text("utf-8").splitlines()] == ["1", "3"]
