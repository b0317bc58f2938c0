"""Hostile files: oversized files and zip bombs are refused by name; what is indexed stays."""

from __future__ import annotations

import io
import shutil
import zipfile

import pytest

from embeddings import load_embedder
from rag.config import Settings
from rag.documents import DocumentError, load_document
from rag.store import Store


def zip_bomb_docx(path, unpacked_mb: int = 10) -> None:
    """A .docx-shaped zip whose one entry inflates a thousandfold."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", b"\0" * (unpacked_mb * 1024 * 1024))
    path.write_bytes(buffer.getvalue())


def test_a_50_mb_file_is_refused_before_it_is_read(tmp_path):
    big = tmp_path / "lon.txt"
    with open(big, "wb") as f:
        f.truncate(50 * 1024 * 1024)  # sparse: the test writes nothing real
    with pytest.raises(DocumentError) as err:
        load_document(big, tmp_path)
    assert str(err.value) == "tệp quá lớn (50.0 MB; tối đa 20 MB)"


def test_a_zip_bomb_docx_is_refused(tmp_path):
    bomb = tmp_path / "bom.docx"
    zip_bomb_docx(bomb)
    with pytest.raises(DocumentError) as err:
        load_document(bomb, tmp_path)
    assert str(err.value).startswith("tệp nén bất thường: ")
    assert str(err.value).endswith(" giải nén thành 10,485,768 byte (có thể là zip bomb)")


def test_hostile_files_are_reported_and_the_corpus_still_indexes(tmp_path, seed_corpus):
    corpus = tmp_path / "corpus"
    shutil.copytree(seed_corpus, corpus)
    zip_bomb_docx(corpus / "bom.docx")
    with open(corpus / "lon.txt", "wb") as f:
        f.truncate(50 * 1024 * 1024)
    store = Store(
        Settings.from_env(env={"RAG_DATA_DIR": str(tmp_path / "data")}), load_embedder("hashing")
    )
    report = store.sync(corpus)
    assert [doc for doc, _ in report.errors] == ["bom.docx", "lon.txt"]
    assert report.added == 5
    assert sorted(store.snapshot.docs) == sorted(p.name for p in seed_corpus.iterdir())
