"""Hostile files: oversized files, zip bombs, links out of the corpus, FIFOs, sockets and devices
are refused by name without being read (nothing may block); what is indexed stays."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import socket
import threading
import zipfile
from pathlib import Path

import pytest

from embeddings import load_embedder
from rag.assistant import Assistant
from rag.config import Settings
from rag.documents import (
    DocumentError,
    iter_document_paths,
    load_document,
    source_problem,
)
from rag.errors import too_large
from rag.store import Store
from tests.conftest import scan_folder

SEED_002 = "002_4b3c1fe148501639.txt"
SECRET = "Mật khẩu quản trị: hoa-sen-42. Không được đưa tài liệu này ra ngoài."


def zip_bomb_docx(path, unpacked_mb: int = 10) -> None:
    """A .docx-shaped zip whose one entry inflates a thousandfold."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", b"\0" * (unpacked_mb * 1024 * 1024))
    path.write_bytes(buffer.getvalue())


def bytes_read_by_this_process() -> int:
    """Bytes this process has read through read() calls so far, whatever library made them."""
    with open("/proc/self/io", encoding="ascii") as io_stats:
        counters = dict(line.split(": ") for line in io_stats.read().splitlines())
    return int(counters["rchar"])


def sparse_file(path: Path, size: int) -> Path:
    with open(path, "wb") as f:
        f.truncate(size)  # sparse: the test writes nothing real
    return path


def test_a_50_mb_file_is_refused_before_it_is_read(tmp_path):
    big = sparse_file(tmp_path / "lon.txt", 50 * 1024 * 1024)
    before = bytes_read_by_this_process()
    with pytest.raises(DocumentError) as err:
        load_document(big, tmp_path)
    problem = source_problem(big, tmp_path)
    read = bytes_read_by_this_process() - before
    assert str(err.value) == problem == "tệp quá lớn (50.0 MB; tối đa 20 MB)"
    # Reading /proc/self/io itself costs a few hundred bytes; the file would cost 50 MB.
    assert read < 64 * 1024


def test_an_upload_over_the_size_limit_is_refused_before_it_is_read(tmp_path, monkeypatch):
    received = tmp_path / "gradio-uploads"
    received.mkdir()
    big = sparse_file(received / "lon.txt", 50 * 1024 * 1024)
    monkeypatch.setenv("RAG_CORPUS_DIR", str(tmp_path / "corpus"))
    assistant = Assistant.from_settings(Settings.from_env(dotenv=None))
    before = bytes_read_by_this_process()
    [outcome] = assistant.add_files([("Lớn.txt", big)], received_in=received)
    read = bytes_read_by_this_process() - before
    assert (outcome.status, outcome.reason) == ("refused", "tệp quá lớn (50.0 MB; tối đa 20 MB)")
    assert not any((tmp_path / "corpus").iterdir()) and assistant.documents() == []
    # The upload would cost 50 MB; the check itself reads /proc/self/io and the index's records.
    assert read < 64 * 1024


@pytest.mark.parametrize(
    ("size", "limit", "message"),
    [
        (50 * 2**20, 20 * 2**20, "tệp quá lớn (50.0 MB; tối đa 20 MB)"),
        (5000, 4096, "tệp quá lớn (4.9 KB; tối đa 4 KB)"),
        (20 * 2**20 + 1, 20 * 2**20, "tệp quá lớn (20,971,521 byte; tối đa 20,971,520 byte)"),
        (1500, 1000, "tệp quá lớn (1,500 byte; tối đa 1,000 byte)"),
    ],
)
def test_size_messages_show_sizes_that_differ(size, limit, message):
    assert too_large(size, limit) == message


def test_a_zip_bomb_docx_is_refused(tmp_path):
    bomb = tmp_path / "bom.docx"
    zip_bomb_docx(bomb)
    with pytest.raises(DocumentError) as err:
        load_document(bomb, tmp_path)
    assert str(err.value).startswith("tệp nén bất thường: ")
    assert str(err.value).endswith(" giải nén thành 10,485,768 byte (có thể là zip bomb)")


@pytest.mark.slow
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


def within(seconds: float, call):
    """`call()`'s result, or its DocumentError; a test failure (not a hang) if it blocks."""
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["result"] = call()
        except DocumentError as exc:
            outcome["result"] = exc

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), "blocked"
    return outcome["result"]


def release(fifo: Path) -> None:
    """Lets a loader that blocked in open() on `fifo` go: a writer now holds the other end."""
    with contextlib.suppress(OSError):  # no loader waiting: nothing to release
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))


def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "tin_moi.txt"
    os.mkfifo(fifo)
    try:
        error = within(5, lambda: load_document(fifo, tmp_path))
        assert str(error) == "không phải tệp thường (FIFO)"
        assert source_problem(fifo, tmp_path) == "không phải tệp thường (FIFO)"
    finally:
        release(fifo)


def test_a_link_out_of_the_corpus_is_refused_and_its_target_never_read(tmp_path, seed_corpus):
    outside = tmp_path / "bi-mat.txt"
    outside.write_text(f"Thông tin nội bộ\n\n{SECRET}\n", encoding="utf-8")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(seed_corpus / SEED_002, corpus / SEED_002)
    (corpus / "tin_moi.txt").symlink_to(outside)
    with pytest.raises(DocumentError) as err:
        load_document(corpus / "tin_moi.txt", corpus)
    assert str(err.value) == "liên kết trỏ ra ngoài thư mục đang nạp, không đọc"


def test_a_folder_of_hostile_entries_names_each_with_its_reason(tmp_path, seed_corpus):
    outside = tmp_path / "ngoai"
    outside.mkdir()
    (outside / "bi-mat.txt").write_text(f"Thông tin nội bộ\n\n{SECRET}\n", encoding="utf-8")
    corpus = tmp_path / "corpus"
    (corpus / "tin").mkdir(parents=True)
    shutil.copy(seed_corpus / SEED_002, corpus / SEED_002)
    (corpus / "tin" / "ban-sao.txt").symlink_to(corpus / SEED_002)  # inside: fine
    (corpus / "a-lien-ket.txt").symlink_to(outside / "bi-mat.txt")
    (corpus / "b-thu-muc").symlink_to(outside, target_is_directory=True)
    (corpus / "c-hong.txt").symlink_to(corpus / "khong-co.txt")
    os.mkfifo(corpus / "d-ong.txt")
    (corpus / "e-thu-muc.md").mkdir()
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(corpus / "f-socket.txt"))
        try:
            paths = within(5, lambda: iter_document_paths(corpus))
            articles, errors = within(5, lambda: scan_folder(corpus))
        finally:
            release(corpus / "d-ong.txt")
    assert [p.relative_to(corpus).as_posix() for p in paths] == [
        SEED_002,
        "a-lien-ket.txt",
        "b-thu-muc",
        "c-hong.txt",
        "d-ong.txt",
        "f-socket.txt",
        "tin/ban-sao.txt",
    ]
    assert [a.doc_id for a in articles] == [SEED_002, "tin/ban-sao.txt"]
    assert errors == [
        ("a-lien-ket.txt", "liên kết trỏ ra ngoài thư mục đang nạp, không đọc"),
        ("b-thu-muc", "liên kết trỏ ra ngoài thư mục đang nạp, không đọc"),
        ("c-hong.txt", "không đọc được tệp: không tìm thấy tệp"),
        ("d-ong.txt", "không phải tệp thường (FIFO)"),
        ("f-socket.txt", "không phải tệp thường (socket)"),
    ]
    assert all(SECRET not in a.text for a in articles)


def test_a_device_is_not_a_regular_file(tmp_path):
    assert source_problem(Path("/dev/zero"), Path("/dev")) == "không phải tệp thường (thiết bị)"
    assert source_problem(tmp_path, tmp_path.parent) == "không phải tệp thường (thư mục)"
