"""Client-server mode: a real `chroma run` on 127.0.0.1, reached through RAG_CHROMA_HOST/PORT."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from embeddings import load_embedder
from rag.assistant import Assistant
from rag.config import Settings
from rag.retrieval import Retriever
from rag.store import Store
from tests.conftest import free_port

pytestmark = pytest.mark.slow

CHROMA = Path(sys.executable).parent / "chroma"


@pytest.fixture
def chroma_server(tmp_path):
    if not CHROMA.exists():
        pytest.skip(f"no chroma CLI beside {sys.executable}")
    port = free_port()
    log = open(tmp_path / "chroma.log", "wb")  # noqa: SIM115 - closed after the server stops
    server = subprocess.Popen(
        [str(CHROMA), "run", "--path", str(tmp_path / "server"), "--port", str(port)]
        + ["--host", "127.0.0.1"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                url = f"http://127.0.0.1:{port}/api/v2/heartbeat"
                with urllib.request.urlopen(url, timeout=1) as reply:
                    if "nanosecond heartbeat" in json.loads(reply.read()):
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"chroma run did not start: {(tmp_path / 'chroma.log').read_text()}"
                )
            time.sleep(0.2)
        yield port
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def test_ingest_and_answer_through_a_chroma_server(chroma_server, tmp_path, seed_corpus):
    corpus = tmp_path / "corpus"
    shutil.copytree(seed_corpus, corpus)
    settings = Settings.from_env(
        env={
            "RAG_CHROMA_HOST": "127.0.0.1",
            "RAG_CHROMA_PORT": str(chroma_server),
            "RAG_DATA_DIR": str(tmp_path / "data"),
            "RAG_EMBEDDING_MODEL": "hashing",
        },
        dotenv=None,
    )
    store = Store(settings, load_embedder("hashing"))

    report = store.sync(corpus)

    assert (report.added, report.errors) == (5, [])
    assert store.dense.client.get_settings().chroma_api_impl.endswith("FastAPI")  # the HTTP client
    assert not (tmp_path / "data" / "chroma").exists()
    assert store.collection.count() == report.chunks == len(store.snapshot.chunks)
    answer = Assistant(settings, Retriever(store, settings)).ask(
        "Kế hoạch số 51-KH/ĐUK được triển khai tới bao nhiêu chi bộ?"
    )
    assert "594" in answer.text
    assert answer.citations[0].doc_id == "000_cc43d066e58669a5.txt"
    # A second process sees the same server-side collection: nothing is embedded again.
    again = Store(settings, load_embedder("hashing")).sync(corpus)
    assert (again.unchanged, again.embedded) == (5, 0)
