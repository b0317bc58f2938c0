"""`python -m rag ingest` killed with SIGKILL while loading, embedding, writing Chroma or writing
BM25: the old index stays queryable, and the next ingest leaves every document exactly once with
Chroma and the BM25 index in agreement."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys

import pytest

from embeddings import load_embedder
from rag.config import Settings
from rag.retrieval import Retriever
from rag.store import Store
from tests.conftest import REPO

# Runs the real CLI in a child process after arranging for it to SIGKILL itself at one stage.
DRIVER = r"""
import os, signal, sys

stage, corpus = sys.argv[1], sys.argv[2]

def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)

import rag.lexical as lexical
import rag.store as store
from embeddings.hashing import HashingEmbeddings

if stage == "loading":
    real_load, calls = store.load_document, []
    def load(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            die()
        return real_load(*args, **kwargs)
    store.load_document = load
elif stage == "embedding":
    HashingEmbeddings.embed_array = die
elif stage == "chroma":
    real_upsert = store.Store._upsert
    def upsert(self, chunks, vectors, docs):
        half = len(chunks) // 2
        real_upsert(self, chunks[:half], vectors[:half], docs)
        die()
    store.Store._upsert = upsert
elif stage == "bm25":
    def save(self, folder):
        self._words.save(str(folder / "bm25_words"))
        die()
    lexical.LexicalIndex.save = save

from rag.__main__ import main
sys.exit(main(["ingest", corpus]))
"""

CHANGED = "003_45ec861fa7425e3b.txt"
DELETED = "002_4b3c1fe148501639.txt"
ADDED = "moi.txt"
ADDED_TEXT = (
    "Hợp tác xã Bình Minh mở rộng sản xuất\n\nHợp tác xã Bình Minh hiện có 86 lao động "
    "thường xuyên. Nhà máy của hợp tác xã đặt tại xã Tân Lập.\n"
)
APPENDED = "\nHội nghị bế mạc lúc 11 giờ 30 cùng ngày.\n"


def open_store(data) -> Store:
    return Store(Settings.from_env(env={"RAG_DATA_DIR": str(data)}), load_embedder("hashing"))


def assert_consistent(store: Store, corpus) -> None:
    snapshot = store.snapshot
    ids = [c.chunk_id for c in snapshot.chunks]
    assert len(ids) == len(set(ids))
    assert set(store.collection.get(include=[])["ids"]) == set(ids)
    assert snapshot.lexical.size == len(ids)
    assert sorted(snapshot.docs) == sorted(p.name for p in corpus.iterdir())
    for doc_id, record in snapshot.docs.items():
        assert [c.chunk_id for c in snapshot.chunks if c.doc_id == doc_id] == record["chunks"]
    for chunk in snapshot.chunks:
        text = (corpus / chunk.doc_id).read_text("utf-8")
        assert text[chunk.start : chunk.end] == chunk.text


@pytest.mark.parametrize("stage", ["loading", "embedding", "chroma", "bm25"])
def test_sigkill_during_ingest_loses_nothing(tmp_path, seed_corpus, stage):
    corpus = tmp_path / "corpus"
    shutil.copytree(seed_corpus, corpus)
    data = tmp_path / "data"
    before = open_store(data)
    before.sync(corpus)
    old_docs = dict(before.snapshot.docs)

    (corpus / ADDED).write_text(ADDED_TEXT, "utf-8")
    changed = corpus / CHANGED
    changed.write_text(changed.read_text("utf-8") + APPENDED, "utf-8")
    (corpus / DELETED).unlink()
    env = {
        **os.environ,
        "RAG_DATA_DIR": str(data),
        "RAG_EMBEDDING_MODEL": "hashing",
        "PYTHONPATH": str(REPO),
    }
    killed = subprocess.run(
        [sys.executable, "-c", DRIVER, stage, str(corpus)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr

    # The previous index answers as before: same documents, results only from it.
    meanwhile = open_store(data)
    assert meanwhile.snapshot.docs == old_docs
    settings = Settings.from_env(env={"RAG_DATA_DIR": str(data)})
    hits = Retriever(meanwhile, settings).search("Nâng cao chất lượng tham mưu", k=5)
    assert hits[0].chunk.doc_id == DELETED
    assert all(h.chunk.chunk_id in meanwhile.snapshot.position for h in hits)

    resumed = subprocess.run(
        [sys.executable, "-m", "rag", "ingest", str(corpus), "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stderr
    after = open_store(data)
    assert_consistent(after, corpus)
    assert after.snapshot.docs[ADDED]["title"] == "Hợp tác xã Bình Minh mở rộng sản xuất"
    last = [c for c in after.snapshot.chunks if c.doc_id == CHANGED][-1]
    assert last.text.endswith(APPENDED.strip())
    hits = Retriever(after, settings).search("Hợp tác xã Bình Minh có bao nhiêu lao động", k=3)
    assert hits[0].chunk.doc_id == ADDED
