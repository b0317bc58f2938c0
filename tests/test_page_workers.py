"""The page's tokenizer workers end with the page: killed (SIGKILL) while its first-start ingest
tokenizes a large corpus in worker processes, it leaves none of them running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rag.sync import Tokenizing
from tests.conftest import REPO, free_port


def children(pid: int) -> list[int]:
    """Live processes whose parent is `pid` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                state, parent = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:2]
            except OSError:
                continue
            if int(parent) == pid and state != "Z":
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.slow
def test_workers_of_a_killed_page_end_at_once(tmp_path, seed_corpus):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    articles = sorted(seed_corpus.glob("*.txt"))
    size = sum(len(p.read_text("utf-8")) for p in articles)
    for n in range(Tokenizing.PARALLEL_MIN_CHARS // size + 1):  # just enough for workers
        for path in articles:
            (corpus / f"{n:03d}_{path.name}").write_text(path.read_text("utf-8"), "utf-8")
    env = {
        **os.environ,
        "RAG_CORPUS_DIR": str(corpus),
        "RAG_DATA_DIR": str(tmp_path / "data"),
        "RAG_HOST": "127.0.0.1",
        "RAG_PORT": str(free_port()),
        "PYTHONPATH": str(REPO),
    }
    with open(tmp_path / "page.log", "w") as log:
        page = subprocess.Popen(
            [sys.executable, str(REPO / "app.py")], env=env, stdout=log, stderr=log
        )
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 240
        while not workers:
            assert page.poll() is None, (tmp_path / "page.log").read_text()
            assert time.monotonic() < deadline, "the page started no tokenizer worker"
            time.sleep(0.05)
            workers = children(page.pid)
        time.sleep(0.5)  # every worker started, none done: they run for seconds
        workers = children(page.pid)
        page.kill()
        page.wait()
        killed = time.monotonic()
        while any(map(alive, workers)) and time.monotonic() < killed + 30:
            time.sleep(0.05)
        lived = time.monotonic() - killed
        assert lived < 2, f"{len(workers)} workers outlived the page by {lived:.1f} s"
    finally:
        if page.poll() is None:
            page.kill()
        for pid in workers:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
