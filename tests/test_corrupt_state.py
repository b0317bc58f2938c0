"""Damaged state found at start: a deleted or corrupted BM25 file, a lost snapshot, a lost
Chroma folder, or one holding another model's vectors. Each is rebuilt from the half that is
intact, with one warning, and answers stay what they were."""

from __future__ import annotations

import logging
import shutil

import chromadb
import pytest
from chromadb.api.shared_system_client import SharedSystemClient
from chromadb.config import Settings as ChromaSettings

from rag.config import Settings
from rag.retrieval import Retriever

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


def reopen(settings, caplog) -> tuple[Retriever, list[str]]:
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="rag.store"):
        retriever = Retriever.from_settings(settings)
        retriever.search(QUESTION, k=1, mode="lexical")
    return retriever, [r.getMessage() for r in caplog.records if r.name == "rag.store"]


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
    with caplog.at_level(logging.WARNING, logger="rag.store"):
        assert retriever.search(QUESTION, k=5, mode="dense") == []
        assert_intact(retriever, corpus, expected, vectors_lost=True)
    assert [r.getMessage() for r in caplog.records if r.name == "rag.store"] == [
        "Chroma 'chunks-hashing' chứa vector 3 chiều của một mô hình khác (mô hình đang dùng: "
        "512 chiều); tìm theo từ khóa cho tới lần nạp sau.",
        "Chroma 'chunks-hashing' chứa vector 3 chiều của một mô hình khác (mô hình đang dùng: "
        "512 chiều); đang dựng lại từ nội dung đã lưu.",
    ]
