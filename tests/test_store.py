"""Incremental ingest into Chroma + BM25 over the seed corpus, with the offline embedder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from embeddings import load_embedder
from rag.config import Settings
from rag.store import Store, StoreError


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
    changed = corpus / "003_45ec861fa7425e3b.txt"
    changed.write_text(changed.read_text("utf-8") + "\nHội nghị bế mạc lúc 11 giờ 30.\n", "utf-8")
    (corpus / "002_4b3c1fe148501639.txt").unlink()

    report = store.sync(corpus)

    assert (report.added, report.updated, report.deleted, report.unchanged) == (0, 1, 1, 3)
    assert report.embedded == len(store.snapshot.docs["003_45ec861fa7425e3b.txt"]["chunks"])
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


def test_interrupted_sync_is_reconciled(corpus):
    """Chroma written but the snapshot never committed: the next sync repairs both."""
    store = open_store()
    store.sync(corpus)
    doc = "004_aa61c7b126e7bd72.txt"
    (store.home / "DIRTY").touch()
    # As if a crash happened after Chroma lost this document's chunks mid-way.
    store.collection.delete(ids=store.snapshot.docs[doc]["chunks"][:1])
    report = open_store().sync(corpus)
    # The lost chunk is re-embedded from the snapshot's own text: no file needs reading again.
    assert (report.added, report.unchanged, report.embedded) == (0, 5, 0)
    fresh = open_store()
    assert chroma_ids(fresh) == set(fresh.snapshot.position)
    assert not (fresh.home / "DIRTY").exists()
