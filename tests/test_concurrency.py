"""Concurrent use: many chats at once against the running page, an upload in the middle, and
readers searching while an ingest swaps the index under them."""

from __future__ import annotations

import html
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from app import create_app
from embeddings import load_embedder
from rag.assistant import Assistant
from rag.config import Settings
from rag.retrieval import Retriever
from rag.store import Store
from tests.conftest import free_port

# (question, its own answer's bold span, its cited article): each chat checks only its own.
CHATS = [
    (
        "Ai là Trưởng Ban chỉ đạo Chương trình số 06-Ctr/ĐUK?",
        "<strong>Lê Minh Đức</strong>",
        "Đảng uỷ Khối các cơ quan TP chủ động nâng cao chất lượng đảng viên",
    ),
    (
        "Kế hoạch số 51-KH/ĐUK được triển khai tới bao nhiêu chi bộ?",
        "<strong>594</strong>",
        "Đảng uỷ Khối các cơ quan TP chủ động nâng cao chất lượng đảng viên",
    ),
    (
        "Từ năm 2017 đã tổ chức bao nhiêu lớp trung cấp chính trị?",
        "<strong>13</strong>",
        "Nâng cao năng lực lãnh đạo, sức chiến đấu của tổ chức cơ sở đảng",
    ),
    (
        "Đảng bộ Khối các Cơ quan và Doanh nghiệp tỉnh lãnh đạo, chỉ đạo bao nhiêu đảng bộ, chi bộ "
        "trực thuộc?",
        "<strong>159</strong>",
        "Đảng ủy Khối các Cơ quan và Doanh nghiệp tỉnh nâng cao năng lực lãnh đạo của các tổ chức "
        "cơ sở Đảng",
    ),
]


def _text(content) -> str:
    return content[0]["text"] if isinstance(content, list) else content


@pytest.fixture
def corpus(tmp_path, seed_corpus):
    folder = tmp_path / "corpus"
    shutil.copytree(seed_corpus, folder)
    return folder


@pytest.mark.slow
def test_twenty_simultaneous_chats_and_an_upload(tmp_path, corpus, monkeypatch):
    from gradio_client import Client, handle_file

    monkeypatch.setenv("RAG_EMBEDDING_MODEL", "hashing")
    monkeypatch.setenv("RAG_CORPUS_DIR", str(corpus))
    assistant = Assistant.from_settings(Settings.from_env(dotenv=None))
    assistant.ingest(corpus)
    port = free_port()
    app = create_app(assistant)
    app.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    upload = tmp_path / "hop-tac-xa.txt"
    upload.write_text(
        "Hợp tác xã Bình Minh mở rộng sản xuất\n\nHợp tác xã Bình Minh hiện có 86 "
        "lao động thường xuyên.\n",
        "utf-8",
    )
    start = threading.Barrier(21)

    def chat(i: int):
        question, expected, doc = CHATS[i % len(CHATS)]
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        start.wait(timeout=60)
        history, sources, notice, _ = client.predict(
            question, [], "hybrid", 5, "", "", "", api_name="/ask"
        )
        return i, question, expected, doc, history, sources, notice

    def upload_in_the_middle():
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        start.wait(timeout=60)
        return client.predict([handle_file(str(upload))], api_name="/upload")[0]

    try:
        with ThreadPoolExecutor(max_workers=21) as pool:
            uploaded = pool.submit(upload_in_the_middle)
            results = list(pool.map(chat, range(20)))
            upload_result = uploaded.result(timeout=300)
    finally:
        app.close()

    assert "hop-tac-xa.txt" in upload_result and "đã thêm" in upload_result
    for i, question, expected, title, history, sources, notice in results:
        assert notice in ("", None), (i, notice)
        assert [m["role"] for m in history] == ["user", "assistant"], i
        # As shown: the page writes a digit that opens a line as an entity (no list numbering).
        asked, answered = (html.unescape(_text(m["content"])) for m in history)
        assert asked == question, i
        assert expected in answered, (i, question, answered[:200])
        # The sources panel holds this chat's one question and its article, nobody else's.
        assert sources.count("Câu hỏi 1: ") == 1 and f"Câu hỏi 1: {question}<" in sources, i
        assert f'<span class="title">{title}</span>' in sources, i
        for other_question, other_expected, _ in CHATS:
            if other_question != question:
                assert other_expected not in answered and other_question not in sources, i
    assert "hop-tac-xa.txt" in {d.doc_id for d in assistant.documents()}


@pytest.mark.slow
def test_readers_never_see_a_half_built_index(tmp_path, corpus):
    """Searches keep running while syncs add and remove a document: every result belongs to one
    committed snapshot (its chunk is there and its text is the file's), and none fails."""
    settings = Settings.from_env(env={"RAG_DATA_DIR": str(tmp_path / "data")})
    writer = Store(settings, load_embedder("hashing"))
    writer.sync(corpus)
    reader = Retriever(Store(settings, load_embedder("hashing")), settings)
    extra = corpus / "them.txt"
    stop = threading.Event()
    errors: list[BaseException] = []
    searches = 0

    def read():
        nonlocal searches
        while not stop.is_set():
            try:
                for hit in reader.search("Lê Minh Đức Trưởng Ban chỉ đạo", k=5, mode="hybrid"):
                    if hit.chunk.doc_id == extra.name:  # rewritten each round: any version
                        texts = [v[hit.chunk.start : hit.chunk.end] for v in versions]
                    else:
                        source = (corpus / hit.chunk.doc_id).read_text("utf-8")
                        texts = [source[hit.chunk.start : hit.chunk.end]]
                    assert hit.chunk.text in texts
                searches += 1
            except BaseException as exc:  # noqa: BLE001 - collected and reported below
                errors.append(exc)
                return

    versions = [
        f"Tin bổ sung số {n}\n\nBí thư Lê Minh Đức làm việc với các chi bộ lần thứ {n}.\n"
        for n in range(6)
    ]
    threads = [threading.Thread(target=read) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        for version in versions:
            extra.write_text(version, "utf-8")
            writer.sync(corpus)
            extra.unlink()
            writer.sync(corpus)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
    assert errors == []
    assert searches > 0
    assert set(reader.store.snapshot.docs) == {p.name for p in corpus.iterdir()}


@pytest.mark.slow
def test_running_process_sees_documents_another_process_ingested(tmp_path, corpus):
    """A page keeps its Chroma client open; an ingest in another process adds an article: the
    page's dense search finds it (the embedded client caches its graph in memory and must be
    opened again when the store changed under it)."""
    import os
    import subprocess
    import sys

    from tests.conftest import REPO

    settings = Settings.from_env(env={"RAG_DATA_DIR": str(tmp_path / "data")})
    running = Retriever(Store(settings, load_embedder("hashing")), settings)
    running.store.sync(corpus)
    question = "Hợp tác xã Bình Minh có bao nhiêu lao động thường xuyên?"
    assert "moi.txt" not in [h.chunk.doc_id for h in running.search(question, k=5, mode="dense")]
    (corpus / "moi.txt").write_text(
        "Hợp tác xã Bình Minh mở rộng sản xuất\n\nHợp tác xã Bình Minh hiện có 86 lao động "
        "thường xuyên. Nhà máy của hợp tác xã đặt tại xã Tân Lập.\n",
        "utf-8",
    )
    env = {
        **os.environ,
        "RAG_DATA_DIR": str(settings.data_dir),
        "RAG_EMBEDDING_MODEL": "hashing",
        "PYTHONPATH": str(REPO),
    }
    other = subprocess.run(
        [sys.executable, "-m", "rag", "ingest", str(corpus), "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert other.returncode == 0, other.stderr
    for mode in ("dense", "lexical", "hybrid"):
        hits = running.search(question, k=3, mode=mode)
        assert hits[0].chunk.doc_id == "moi.txt", mode


@pytest.mark.slow
def test_page_answers_while_vectors_are_built_in_the_background(tmp_path, corpus, monkeypatch):
    """The page's first-start ingest commits the snapshot, then builds vectors in its thread;
    while the model is busy (held here) the status shows every passage pending and a question
    is answered from the lexical half; afterwards nothing is pending."""
    from embeddings.hashing import HashingEmbeddings

    settings = Settings.from_env(
        env={"RAG_DATA_DIR": str(tmp_path / "data"), "RAG_CORPUS_DIR": str(corpus)}
    )
    assistant = Assistant(settings, Retriever(Store(settings, load_embedder("hashing")), settings))
    busy, release = threading.Event(), threading.Event()
    real = HashingEmbeddings.embed_array

    def held(self, texts, *, is_query=False, **kwargs):
        if not is_query:
            busy.set()
            release.wait(60)
        return real(self, texts, is_query=is_query, **kwargs)

    monkeypatch.setattr(HashingEmbeddings, "embed_array", held)
    assistant.start_background(ingest_corpus=True)
    try:
        assert busy.wait(60)
        status = assistant.status()
        assert (status.chunks, status.vectors_pending, status.busy) == (50, 50, True)
        assert status.indexing == ("embed", 0, 50)
        answer = assistant.ask("Kế hoạch số 51-KH/ĐUK được triển khai tới bao nhiêu chi bộ?")
        assert "594 chi bộ" in answer.text
        assert answer.citations[0].title == CHATS[1][2]
    finally:
        release.set()
        assistant.background.join(60)
    status = assistant.status()
    assert (status.indexing, status.error, status.vectors_pending, status.busy) == (
        None,
        None,
        0,
        False,
    )
