"""Shared fixtures: every test runs against its own data folder, never the user's index."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SEED_CORPUS = REPO / "corpus"


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on right now, for servers the tests start."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(autouse=True)
def isolated_data_dir(tmp_path, monkeypatch):
    """Point RAG_DATA_DIR at a temp folder and keep every model offline. Tests embed with the
    fast `hashing` embedder unless they set RAG_EMBEDDING_MODEL themselves (the real bundled
    model embeds about 3,000 characters a second here), and answer with the span rules alone
    unless they set RAG_READER themselves (the neural reader is tested in test_reader.py)."""
    data = tmp_path / "data"
    monkeypatch.setenv("RAG_DATA_DIR", str(data))
    monkeypatch.setenv("RAG_EMBEDDING_MODEL", "hashing")
    monkeypatch.setenv("RAG_READER", "off")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    for name in (
        "RAG_LLM_BASE_URL",
        "RAG_LLM_MODEL",
        "RAG_LLM_API_KEY",
        "RAG_CHROMA_HOST",
        "RAG_CHROMA_PORT",
        "RAG_RERANKER_MODEL",
        "RAG_AUTH",
    ):
        monkeypatch.delenv(name, raising=False)
    return data


@pytest.fixture(scope="session")
def seed_corpus() -> Path:
    return SEED_CORPUS


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A tiny random-weight BERT sentence-transformers model (32 dims) over the seed vocabulary."""
    from tests.tiny_model import build_tiny_model

    texts = [path.read_text(encoding="utf-8") for path in sorted(SEED_CORPUS.glob("*.txt"))]
    # Session fixtures start before the autouse one, and huggingface_hub freezes its offline
    # switch at import, so the build itself must already see it.
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("TRANSFORMERS_OFFLINE", "1")
        return build_tiny_model(tmp_path_factory.mktemp("models") / "tiny-bert", texts)


def scan_folder(root: Path):
    """What an ingest of `root` reads, without an index: the articles it takes and (doc_id,
    reason) for each file it refuses, in the order of the ingest's own scan."""
    from rag.snapshot import Snapshot
    from rag.sync import no_progress, scan

    articles = []

    def keep(article):
        articles.append(article)
        return []

    report, _ = scan(root, None, Snapshot.empty(), keep, delete_missing=True, progress=no_progress)
    return articles, report.errors
