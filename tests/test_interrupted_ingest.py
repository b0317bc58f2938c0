"""`python -m rag ingest` killed with SIGKILL while loading, writing BM25, embedding or writing
Chroma: the last committed index stays queryable, and the next ingest leaves every document
exactly once with Chroma and the BM25 index in agreement. A document cut across a Chroma write
batch is never taken for indexed, even when the snapshot is lost as well."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

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

import rag.dense as dense
import rag.lexical as lexical
import rag.sync as sync
from embeddings.hashing import HashingEmbeddings

if stage == "loading":
    real_load, calls = sync.load_document, []
    def load(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            die()
        return real_load(*args, **kwargs)
    sync.load_document = load
elif stage == "embedding":
    HashingEmbeddings.embed_array = die
elif stage == "chroma":
    real_upsert = dense.DenseIndex._upsert
    def upsert(self, collection, chunks, vectors, docs):
        half = len(chunks) // 2
        real_upsert(self, collection, chunks[:half], vectors[:half], docs)
        die()
    dense.DenseIndex._upsert = upsert
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


def _env(data: Path, **settings: str) -> dict:
    """A child process's environment: its own data folder, the hashing embedder, this checkout."""
    return {
        **os.environ,
        "RAG_DATA_DIR": str(data),
        "RAG_EMBEDDING_MODEL": "hashing",
        "PYTHONPATH": str(REPO),
        **settings,
    }


def _python(env: dict, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    """`python ARGS` in a child process, its output captured as text."""
    return subprocess.run(
        [sys.executable, *args], env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.mark.slow
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
    env = _env(data)
    killed = _python(env, "-c", DRIVER, stage, str(corpus))
    assert killed.returncode == -signal.SIGKILL, killed.stderr

    # The last committed index answers meanwhile, results only from it. A kill before the
    # commit leaves the previous one; once vectors are being built, the new one is committed.
    meanwhile = open_store(data)
    settings = Settings.from_env(env={"RAG_DATA_DIR": str(data)})
    retriever = Retriever(meanwhile, settings)
    if stage in ("loading", "bm25"):
        assert meanwhile.snapshot.docs == old_docs
        hits = retriever.search("Nâng cao chất lượng tham mưu", k=5)
        assert hits[0].chunk.doc_id == DELETED
    else:
        assert sorted(meanwhile.snapshot.docs) == sorted(p.name for p in corpus.iterdir())
        hits = retriever.search("Hợp tác xã Bình Minh có bao nhiêu lao động", k=3)
        assert hits[0].chunk.doc_id == ADDED
    for mode in ("hybrid", "dense"):
        hits = retriever.search("Nâng cao chất lượng tham mưu", k=20, mode=mode)
        assert all(h.chunk.chunk_id in meanwhile.snapshot.position for h in hits)

    resumed = _python(env, "-m", "rag", "ingest", str(corpus), "--json")
    assert resumed.returncode == 0, resumed.stderr
    after = open_store(data)
    assert_consistent(after, corpus)
    assert after.snapshot.docs[ADDED]["title"] == "Hợp tác xã Bình Minh mở rộng sản xuất"
    last = [c for c in after.snapshot.chunks if c.doc_id == CHANGED][-1]
    assert last.text.endswith(APPENDED.strip())
    hits = Retriever(after, settings).search("Hợp tác xã Bình Minh có bao nhiêu lao động", k=3)
    assert hits[0].chunk.doc_id == ADDED


# A fresh ingest whose Chroma writes are cut after the first batch of 7 rows: the first
# document has more passages than that. The batch size is also forced through chromadb's own
# limit, so that the code before RAG_WRITE_BATCH existed is cut at the same place.
CUT_DRIVER = r"""
import os, signal, sys
import chromadb.api.client as client
import chromadb.api.models.Collection as collection

client.Client.get_max_batch_size = lambda self: 7
real_upsert, calls = collection.Collection.upsert, []

def upsert(self, *args, **kwargs):
    calls.append(1)
    if len(calls) == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    return real_upsert(self, *args, **kwargs)

collection.Collection.upsert = upsert
from rag.__main__ import main
sys.exit(main(["ingest", sys.argv[1]]))
"""


@pytest.mark.slow
@pytest.mark.parametrize("snapshot", ["kept", "lost"])
def test_document_cut_across_a_write_batch_is_never_taken_for_indexed(
    tmp_path, seed_corpus, snapshot
):
    """Kill, then search (which must not repair by writing), then ingest again: the index
    equals a clean ingest's, chunk for chunk, in the snapshot and in Chroma."""
    clean = open_store(tmp_path / "clean")
    clean.sync(seed_corpus)
    expected = [(c.chunk_id, c.text) for c in clean.snapshot.chunks]
    first_doc = clean.snapshot.chunks[0].doc_id
    assert len(clean.snapshot.docs[first_doc]["chunks"]) > 7

    data = tmp_path / "data"
    env = _env(data, RAG_WRITE_BATCH="7")
    killed = _python(env, "-c", CUT_DRIVER, str(seed_corpus))
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    cut = open_store(data).collection.get(include=["metadatas"])["metadatas"]
    assert [m["doc_id"] for m in cut] == [first_doc] * 7
    if snapshot == "lost":
        shutil.rmtree(data / "index")

    searched = _python(env, "-m", "rag", "search", "chi bộ", "--json")
    if snapshot == "kept":
        assert searched.returncode == 0, searched.stderr
    else:
        # The 7 rows are not a whole document: nothing to search, and nothing written.
        assert searched.returncode == 2, searched.stderr
        assert not (data / "index").exists()

    resumed = _python(env, "-m", "rag", "ingest", str(seed_corpus), "--json")
    assert resumed.returncode == 0, resumed.stderr
    after = open_store(data)
    assert [(c.chunk_id, c.text) for c in after.snapshot.chunks] == expected
    assert set(after.collection.get(include=[])["ids"]) == {cid for cid, _ in expected}


ORPHAN_DRIVER = r"""
import json, os, signal, sys
import rag.sync as sync

def result(self, progress):
    # Workers are running; record them and where they write, then die like a killed ingest.
    with open(sys.argv[2], "w") as f:
        json.dump({"pids": [w.pid for w, _ in self._workers], "scratch": self._scratch}, f)
    os.kill(os.getpid(), signal.SIGKILL)

sync.Tokenizing.result = result
from rag.__main__ import main
sys.exit(main(["ingest", sys.argv[1]]))
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.slow
def test_tokenizer_workers_die_with_a_killed_ingest(tmp_path, seed_corpus):
    """Enough text for worker processes (about 4 million characters); the ingest is killed
    while they tokenize. They exit within seconds, their scratch folder is under RAG_DATA_DIR,
    and the next ingest removes it."""
    import json
    import time

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for n in range(80):
        for path in seed_corpus.glob("*.txt"):
            (corpus / f"{n:02d}_{path.name}").write_text(path.read_text("utf-8"), "utf-8")
    data = tmp_path / "data"
    env = _env(data)
    record = tmp_path / "workers.json"
    # Output to a file, not a pipe: reading a pipe would wait for the workers to close it.
    with open(tmp_path / "stderr.txt", "w") as stderr:
        killed = subprocess.run(
            [sys.executable, "-c", ORPHAN_DRIVER, str(corpus), str(record)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            timeout=300,
        )
    assert killed.returncode == -signal.SIGKILL, (tmp_path / "stderr.txt").read_text()
    workers = json.loads(record.read_text())
    assert workers["pids"]
    deadline = time.monotonic() + 2
    while any(_alive(pid) for pid in workers["pids"]) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(pid) for pid in workers["pids"])
    scratch = Path(workers["scratch"])
    assert scratch.parent == data / "tmp"
    assert scratch.is_dir()

    for path in sorted(corpus.iterdir())[40:]:  # a small ingest next: no workers of its own
        path.unlink()
    resumed = _python(env, "-m", "rag", "ingest", str(corpus), "--json", timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    assert list((data / "tmp").iterdir()) == []


EMBED_KILL_DRIVER = r"""
import os, signal, sys
import rag.dense as dense
from embeddings.hashing import HashingEmbeddings

dense.EMBED_BATCH = 10
real, calls = HashingEmbeddings.embed_array, []

def embed_array(self, texts, **kwargs):
    calls.append(1)
    if len(calls) == 3:
        os.kill(os.getpid(), signal.SIGKILL)
    return real(self, texts, **kwargs)

HashingEmbeddings.embed_array = embed_array
from rag.__main__ import main
sys.exit(main(["ingest", sys.argv[1]]))
"""


@pytest.mark.slow
def test_vector_build_killed_resumes_without_embedding_anything_twice(tmp_path, seed_corpus):
    """Killed while embedding its third batch of 10: the two finished batches are in the vector
    cache though none reached Chroma yet; the next ingest embeds exactly the other 30."""
    data = tmp_path / "data"
    env = _env(data, RAG_WRITE_BATCH="25")
    killed = _python(env, "-c", EMBED_KILL_DRIVER, str(seed_corpus))
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    store = open_store(data)
    assert len(store.snapshot.chunks) == 50  # committed before any vector
    assert store.vectors_pending() == 50
    report = store.sync(seed_corpus)
    assert (report.unchanged, report.embedded) == (5, 30)
    assert store.vectors_pending() == 0
    assert set(store.collection.get(include=[])["ids"]) == set(store.snapshot.position)
