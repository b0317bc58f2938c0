"""Damaged state found at start: a deleted or corrupted BM25 file, a lost snapshot, a lost
Chroma folder, or one holding another model's vectors. Each is rebuilt from the half that is
intact, with one warning, and answers stay what they were."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys

import chromadb
import pytest
from chromadb.api.shared_system_client import SharedSystemClient
from chromadb.config import Settings as ChromaSettings

from rag.config import Settings
from rag.retrieval import Retriever
from tests.conftest import REPO

QUESTION = "Ai là Trưởng Ban chỉ đạo Chương trình số 06-Ctr/ĐUK?"


@pytest.fixture
def indexed(tmp_path, seed_corpus, monkeypatch):
    """A seed index, and what its searches return before anything is damaged."""
    monkeypatch.setenv("RAG_EMBEDDING_MODEL", "hashing")
    corpus = tmp_path / "corpus"
    shutil.copytree(seed_corpus, corpus)
    settings = Settings.from_env(dotenv=None)
    retriever = Retriever.from_settings(settings)
    retriever.store.sync(corpus)
    expected = {mode: ids(retriever, mode) for mode in ("lexical", "dense")}
    return settings, corpus, retriever.store.home, expected


def new_process() -> None:
    """Forget this process's open Chroma systems, as a freshly started process would."""
    for system in SharedSystemClient._identifier_to_system.values():
        system.stop()
    SharedSystemClient.clear_system_cache()


def ids(retriever: Retriever, mode: str) -> list[str]:
    return [h.chunk.chunk_id for h in retriever.search(QUESTION, k=5, mode=mode)]


def store_warnings(caplog) -> list[str]:
    """What the store said: its snapshot repairs and its Chroma collection's state."""
    return [r.getMessage() for r in caplog.records if r.name in ("rag.store", "rag.dense")]


def reopen(settings, caplog) -> tuple[Retriever, list[str]]:
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        retriever = Retriever.from_settings(settings)
        retriever.search(QUESTION, k=1, mode="lexical")
    return retriever, store_warnings(caplog)


def current_generation(home):
    return home / (home / "CURRENT").read_text("utf-8").strip()


def assert_intact(retriever, corpus, expected, *, vectors_lost: bool = False):
    """Lexical answers are as before at once; dense ones too, or after the next sync when the
    vectors were lost, which writes them back from the vector cache without the model."""
    assert ids(retriever, "lexical") == expected["lexical"]
    assert retriever.store.vectors_pending() == (50 if vectors_lost else 0)
    if not vectors_lost:
        assert ids(retriever, "dense") == expected["dense"]
    report = retriever.store.sync(corpus)
    assert (report.unchanged, report.embedded) == (5, 0)  # nothing re-embedded afterwards
    assert ids(retriever, "dense") == expected["dense"]


def test_deleted_bm25_file_is_rebuilt_from_the_stored_chunks(indexed, caplog):
    settings, corpus, home, expected = indexed
    shutil.rmtree(current_generation(home) / "bm25_folded")
    retriever, warnings = reopen(settings, caplog)
    assert len(warnings) == 1 and warnings[0].startswith("Chỉ mục BM25 hỏng (")
    assert warnings[0].endswith("); đang dựng lại từ các đoạn đã lưu.")
    assert_intact(retriever, corpus, expected)


def test_corrupted_bm25_file_is_rebuilt(indexed, caplog):
    settings, corpus, home, expected = indexed
    for path in (current_generation(home) / "bm25_words").iterdir():
        path.write_bytes(b"\x00hong" * 10)
    retriever, warnings = reopen(settings, caplog)
    assert len(warnings) == 1 and warnings[0].startswith("Chỉ mục BM25 hỏng (")
    assert_intact(retriever, corpus, expected)


def test_lost_snapshot_is_rebuilt_from_chroma(indexed, caplog):
    settings, corpus, home, expected = indexed
    shutil.rmtree(home)
    retriever, warnings = reopen(settings, caplog)
    assert warnings == ["Không thấy chỉ mục từ khóa; đang dựng lại từ Chroma (50 đoạn)."]
    assert not home.exists()  # rebuilt in memory: a read never writes; the next sync commits
    assert_intact(retriever, corpus, expected)


def test_lost_chroma_folder_is_re_embedded_from_the_snapshot(indexed, caplog):
    settings, corpus, home, expected = indexed
    new_process()
    shutil.rmtree(settings.data_dir / "chroma")
    retriever, warnings = reopen(settings, caplog)
    assert warnings == []
    assert_intact(retriever, corpus, expected, vectors_lost=True)


def test_chroma_folder_of_another_model_is_rebuilt(indexed, caplog):
    settings, corpus, home, expected = indexed
    new_process()
    shutil.rmtree(settings.data_dir / "chroma")
    foreign = chromadb.PersistentClient(
        path=str(settings.data_dir / "chroma"), settings=ChromaSettings(anonymized_telemetry=False)
    )
    collection = foreign.get_or_create_collection("chunks-hashing", embedding_function=None)
    collection.upsert(
        ids=["la"],
        embeddings=[[0.1, 0.2, 0.3]],
        documents=["văn bản lạ"],
        metadatas=[{"doc_id": "la.txt"}],
    )
    del foreign, collection
    new_process()
    retriever, warnings = reopen(settings, caplog)
    assert warnings == []
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        assert retriever.search(QUESTION, k=5, mode="dense") == []
        assert_intact(retriever, corpus, expected, vectors_lost=True)
    assert store_warnings(caplog) == [
        "Chroma 'chunks-hashing' chứa vector 3 chiều của một mô hình khác (mô hình đang dùng: "
        "512 chiều); tìm theo từ khóa cho tới lần nạp sau.",
        "Chroma 'chunks-hashing' chứa vector 3 chiều của một mô hình khác (mô hình đang dùng: "
        "512 chiều); đang dựng lại từ nội dung đã lưu.",
    ]


def _cli(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rag", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _env(data) -> dict:
    return {
        **os.environ,
        "RAG_DATA_DIR": str(data),
        "RAG_EMBEDDING_MODEL": "hashing",
        "PYTHONPATH": str(REPO),
    }


@pytest.mark.slow
def test_full_disk_fails_in_one_line_and_reads_keep_working(tmp_path, seed_corpus):
    """The data folder on a tmpfs filled to the last byte (a mount namespace of its own): an
    ingest with a new article fails in one line with exit 1; search and info still answer
    from the previous index, which is intact. Chroma itself writes to its SQLite file when it
    opens, so while the disk is full the vectors cannot be read: search is lexical, with one
    warning, and info counts every passage as waiting for a readable vector."""
    if not shutil.which("unshare") or subprocess.run(["unshare", "-rm", "true"]).returncode:
        pytest.skip("no unprivileged mount namespace here to make a small full disk")
    prepared = tmp_path / "prepared"
    corpus = tmp_path / "corpus"
    shutil.copytree(seed_corpus, corpus)
    assert _cli("ingest", str(corpus), env=_env(prepared)).returncode == 0
    (corpus / "moi.txt").write_text(
        "Hợp tác xã Bình Minh mở rộng sản xuất\n\nHợp tác xã Bình Minh hiện có 86 lao động.\n",
        "utf-8",
    )
    data = tmp_path / "data"
    data.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    python = sys.executable
    script = f"""
mount -t tmpfs -o size=32m tmpfs {data} && cp -a {prepared}/. {data}/ || exit 99
dd if=/dev/zero of={data}/lap-day bs=4k 2>/dev/null
cd {out}
{python} -m rag ingest {corpus} --json > ingest.out 2> ingest.err; echo $? > ingest.rc
RAG_HYBRID_WEIGHTS=0.5,0.5 {python} -m rag search "Lê Minh Đức là ai" --json > search.out 2> search.err; echo $? > search.rc
{python} -m rag info --json > info.out 2> info.err; echo $? > info.rc
df --output=avail {data} | tail -1 > avail
"""
    # The search forces a dense vote (hashing alone gets none and never opens Chroma), so it
    # meets the Chroma that a full disk keeps from opening.
    run = subprocess.run(["unshare", "-rm", "sh", "-c", script], env=_env(data), timeout=600)
    assert run.returncode == 0

    def read(name: str) -> str:
        return (out / name).read_text("utf-8")

    assert read("avail").strip() == "0"
    assert read("ingest.rc").strip() == "1"
    assert read("ingest.err") == (
        "Lỗi: Đĩa đầy: không ghi được chỉ mục; chỉ mục trước vẫn nguyên vẹn và vẫn tìm được. "
        "Hãy giải phóng dung lượng rồi nạp lại.\n"
    )
    assert read("search.rc").strip() == "0", read("search.err")
    assert read("search.err") == (
        "Đĩa đầy: Chroma không mở được để đọc; tạm thời chỉ tìm theo từ khóa.\n"
    )
    hits = json.loads(read("search.out"))
    assert hits[0]["doc_id"] == "000_cc43d066e58669a5.txt"
    assert read("info.rc").strip() == "0", read("info.err")
    info = json.loads(read("info.out"))
    assert (info["documents"], info["chunks"], info["vectors_pending"]) == (5, 50, 50)
    assert info["corpus"] == str(corpus)


@pytest.mark.slow
def test_corrupt_chroma_names_the_rebuild_command_which_works(tmp_path, seed_corpus):
    corpus = tmp_path / "corpus"
    shutil.copytree(seed_corpus, corpus)
    data = tmp_path / "data"
    env = _env(data)
    assert _cli("ingest", str(corpus), env=env).returncode == 0
    sqlite = data / "chroma" / "chroma.sqlite3"
    sqlite.write_bytes(b"khong phai sqlite " * 4096)
    broken = _cli("search", QUESTION, "--mode", "dense", env=env)
    assert broken.returncode == 1
    assert broken.stderr.count("\n") == 1 and "Traceback" not in broken.stderr
    assert broken.stderr.startswith(f"Lỗi: Chroma ở {data / 'chroma'} hỏng hoặc không mở được (")
    assert broken.stderr.endswith(
        "hãy chạy `python -m rag ingest --rebuild` để dựng lại chỉ mục từ thư mục tài liệu.\n"
    )
    rebuilt = _cli("ingest", str(corpus), "--rebuild", "--json", env=env)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert json.loads(rebuilt.stdout)["added"] == 5
    searched = _cli("search", QUESTION, "--mode", "dense", "--json", env=env)
    assert searched.returncode == 0, searched.stderr
    assert json.loads(searched.stdout)[0]["doc_id"] == "000_cc43d066e58669a5.txt"
