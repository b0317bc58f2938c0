"""Incremental ingest into Chroma + BM25 over the seed corpus, with the offline embedder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from embeddings import load_embedder
from rag.config import Settings
from rag.errors import StoreError
from rag.store import Store


@pytest.fixture
def corpus(tmp_path, seed_corpus) -> Path:
    folder = tmp_path / "corpus"
    shutil.copytree(seed_corpus, folder)
    return folder


def open_store(model: str = "hashing") -> Store:
    settings = Settings.from_env(dotenv=None)
    return Store(settings, load_embedder(model))


def chroma_ids(store: Store) -> set[str]:
    return set(store.collection.get(include=[])["ids"])


def test_first_ingest_adds_every_seed_article(corpus):
    store = open_store()
    report = store.sync(corpus)
    assert (report.added, report.updated, report.deleted, report.unchanged) == (5, 0, 0, 0)
    assert report.errors == []
    assert report.chunks == len(store.snapshot.chunks) == report.embedded
    assert sorted(store.snapshot.docs) == sorted(p.name for p in corpus.iterdir())
    assert chroma_ids(store) == set(store.snapshot.position)


def test_reingest_unchanged_embeds_nothing(corpus):
    open_store().sync(corpus)
    store = open_store()  # a new process would start like this
    report = store.sync(corpus)
    assert (report.added, report.updated, report.deleted, report.unchanged) == (0, 0, 0, 5)
    assert report.embedded == 0


def test_changed_file_is_reindexed_and_deleted_file_leaves(corpus):
    store = open_store()
    store.sync(corpus)
    before = dict(store.snapshot.docs)
    embedded_before = {c.indexed_text for c in store.snapshot.chunks}
    changed = corpus / "003_45ec861fa7425e3b.txt"
    changed.write_text(changed.read_text("utf-8") + "\nHội nghị bế mạc lúc 11 giờ 30.\n", "utf-8")
    (corpus / "002_4b3c1fe148501639.txt").unlink()

    report = store.sync(corpus)

    assert (report.added, report.updated, report.deleted, report.unchanged) == (0, 1, 1, 3)
    # Only passages whose text is new reach the model; the rest come from the vector cache.
    new_texts = [
        c.indexed_text
        for c in store.snapshot.chunks
        if c.doc_id == "003_45ec861fa7425e3b.txt" and c.indexed_text not in embedded_before
    ]
    assert len(new_texts) == 2 < len(store.snapshot.docs["003_45ec861fa7425e3b.txt"]["chunks"])
    assert report.embedded == len(new_texts)
    assert "002_4b3c1fe148501639.txt" not in store.snapshot.docs
    assert not set(before["002_4b3c1fe148501639.txt"]["chunks"]) & chroma_ids(store)
    assert chroma_ids(store) == set(store.snapshot.position)
    last = [c for c in store.snapshot.chunks if c.doc_id == "003_45ec861fa7425e3b.txt"][-1]
    assert last.text.endswith("Hội nghị bế mạc lúc 11 giờ 30.")


def test_stored_and_indexed_text_is_the_original(corpus):
    store = open_store()
    store.sync(corpus)
    got = store.collection.get(include=["documents", "metadatas"])
    assert len(got["ids"]) == len(store.snapshot.chunks)
    for text, meta in zip(got["documents"], got["metadatas"], strict=True):
        original = (corpus / meta["doc_id"]).read_text("utf-8")
        assert original[meta["start"] : meta["end"]] == text
    # The seed mixes "Đảng uỷ" and "Đảng ủy": both spellings survive as written.
    texts = " ".join(c.text for c in store.snapshot.chunks)
    assert "Đảng uỷ Khối" in texts and "Đảng ủy Khối" in texts


def test_bad_file_is_reported_and_the_rest_is_kept(corpus):
    store = open_store()
    store.sync(corpus)
    chunks_before = len(store.snapshot.chunks)
    (corpus / "anh.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    (corpus / "rong.txt").write_bytes(b"")
    report = store.sync(corpus)
    assert [p for p, _ in report.errors] == ["anh.txt", "rong.txt"]
    assert report.unchanged == 5
    assert len(store.snapshot.chunks) == chunks_before


def test_unreadable_new_version_keeps_the_old_one(corpus):
    store = open_store()
    store.sync(corpus)
    doc = "000_cc43d066e58669a5.txt"
    old_chunks = store.snapshot.docs[doc]["chunks"]
    (corpus / doc).write_bytes(b"")
    report = store.sync(corpus)
    assert report.errors == [(doc, "tệp rỗng")]
    assert store.snapshot.docs[doc]["chunks"] == old_chunks


@pytest.mark.slow
def test_models_never_share_a_collection(corpus, tiny_model_dir):
    hashing = open_store("hashing")
    tiny = open_store(str(tiny_model_dir))
    assert hashing.collection_name != tiny.collection_name
    tiny.sync(corpus)
    assert tiny.collection.count() == len(tiny.snapshot.chunks) > 0
    assert hashing.snapshot.chunks == []


def test_remove_takes_a_document_out(corpus):
    store = open_store()
    store.sync(corpus)
    report = store.remove(["001_de17a9f0785143ac.txt"])
    assert report.deleted == 1
    assert "001_de17a9f0785143ac.txt" not in store.snapshot.docs
    assert chroma_ids(store) == set(store.snapshot.position)


def test_missing_path_is_a_store_error(tmp_path):
    with pytest.raises(StoreError, match="Không tìm thấy đường dẫn"):
        open_store().sync(tmp_path / "khong-co")


@pytest.mark.slow
def test_vectors_lost_from_chroma_come_back_from_the_cache(corpus):
    """Rows missing from Chroma (a kill mid-write, a damaged collection) are pending vectors:
    the next sync writes them again from the vector cache without running the model."""
    store = open_store()
    store.sync(corpus)
    doc = "004_aa61c7b126e7bd72.txt"
    store.collection.delete(ids=store.snapshot.docs[doc]["chunks"][:3])
    fresh = open_store()
    assert fresh.vectors_pending() == 3
    report = fresh.sync(corpus)
    assert (report.added, report.unchanged, report.embedded) == (0, 5, 0)
    assert chroma_ids(fresh) == set(fresh.snapshot.position)
    assert fresh.vectors_pending() == 0


def test_snapshot_is_searchable_before_its_vectors(corpus):
    from rag.retrieval import Retriever

    store = open_store()
    report = store.sync(corpus, vectors=False)
    assert report.embedded == 0
    retriever = Retriever(store, store.settings)
    question = "Ai là Trưởng Ban chỉ đạo Chương trình số 06-Ctr/ĐUK?"
    lexical = [h.chunk.doc_id for h in retriever.search(question, k=3, mode="lexical")]
    assert lexical[0] == "000_cc43d066e58669a5.txt"
    assert store.vectors_pending() == len(store.snapshot.chunks) == 50
    assert retriever.search(question, k=3, mode="dense") == []
    # Hybrid answers from the lexical half alone meanwhile.
    assert [h.chunk.doc_id for h in retriever.search(question, k=3, mode="hybrid")] == lexical
    assert store.build_vectors() == 50
    assert store.vectors_pending() == 0
    assert retriever.search(question, k=3, mode="dense") != []


@pytest.mark.slow
def test_rebuild_embeds_nothing_already_embedded(corpus):
    store = open_store()
    store.sync(corpus)
    ids = [c.chunk_id for c in store.snapshot.chunks]
    report = open_store().rebuild(corpus)
    assert (report.added, report.embedded) == (5, 0)
    fresh = open_store()
    assert [c.chunk_id for c in fresh.snapshot.chunks] == ids
    assert chroma_ids(fresh) == set(ids)


@pytest.mark.slow
def test_moved_corpus_folder_is_mirrored_from_its_new_place(corpus, tmp_path):
    store = open_store()
    store.sync(corpus)
    moved = corpus.rename(tmp_path / "bai-viet")
    (moved / "002_4b3c1fe148501639.txt").unlink()
    report = open_store().sync(moved)
    assert (report.added, report.deleted, report.unchanged) == (0, 1, 4)
    fresh = open_store()
    assert fresh.snapshot.root == str(moved.resolve())
    assert sorted(fresh.snapshot.docs) == sorted(p.name for p in moved.iterdir())
    assert {r["root"] for r in fresh.snapshot.docs.values()} == {str(moved.resolve())}


def test_links_out_of_the_folder_and_fifos_are_reported_not_read(corpus, tmp_path):
    import os

    secret = tmp_path / "mat.txt"
    secret.write_text("Mật khẩu quản trị là sk-bi-mat-123.\n", "utf-8")
    (corpus / "tin_moi.txt").symlink_to(secret)
    os.mkfifo(corpus / "ong.txt")
    store = open_store()
    report = store.sync(corpus)
    assert report.errors == [
        ("ong.txt", "không phải tệp thường (FIFO)"),
        ("tin_moi.txt", "liên kết trỏ ra ngoài thư mục đang nạp, không đọc"),
    ]
    assert report.added == 5
    assert "sk-bi-mat" not in " ".join(c.text for c in store.snapshot.chunks)
