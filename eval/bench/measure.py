"""Measurements of one corpus size, run in a worker process so peak memory is per size.

In: a corpus folder (written by `eval.bench.corpus`), queries and a seed. Out: plain dicts of
ingest throughput per stage, query latency and hit rates per mode, answer latency, memory, disk,
LangChain's `BM25Retriever` on the same passages, and a fresh process's start-up times. Only
public names of `rag` and `embeddings`. Never asserts timings.
"""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from eval.bench.build import StageClock, VectorLedger
from eval.bench.corpus import REPO, XQUAD, make_queries, relevant_positions, write_corpus

ANSWER_QUERIES = 50
BASELINE_MAX_QUERIES = 100


@dataclass(frozen=True)
class SizeJob:
    """One size to measure, as the worker process receives it (JSON)."""

    size: int
    folder: str
    queries: int
    seed: int
    baseline: bool = True
    embedding: str = "hashing"
    passage_words: int | None = None
    xquad: str = str(XQUAD)


class ModelUnavailableError(RuntimeError):
    """The model to measure did not load (the product would have fallen back to another)."""


def bench_size(job: SizeJob) -> dict:
    """Index the size's corpus with `job.embedding` in `folder/data` (kept between runs when the
    folder is: its vector cache then serves what an earlier, perhaps killed, run embedded) and
    measure it; with a model other than `hashing`, `hashing` on the same corpus in the same
    process is measured too, as the ratio baseline."""
    folder = Path(job.folder)
    t = time.perf_counter()
    corpus = write_corpus(folder / "corpus", job.size, job.seed, job.passage_words, Path(job.xquad))
    generate_s = time.perf_counter() - t
    queries = make_queries(corpus, job.queries, job.seed)
    measured = measure_index(folder, folder / "data", job.embedding, corpus, queries)
    result = {
        "load_average": os.getloadavg()[0],
        "embedding_model": job.embedding,
        "passages": measured.result.pop("passages"),
        "documents": corpus["documents"],
        "characters": corpus["chars"],
        "queries": len(queries),
        "queries_folded": sum(q["folded"] for q in queries),
        "generate_s": round(generate_s, 2),
        **measured.result,
    }
    if job.baseline:
        result["baseline"] = bench_baseline(measured.snapshot, queries, measured.relevant)
        result["baseline"]["ratio_p50"] = round(
            result["baseline"]["p50_ms"] / max(result["search"]["lexical"]["p50_ms"], 1e-6), 1
        )
        result["rss_mb"]["with_baseline"] = maxrss_mb()
    del measured
    if job.embedding != "hashing":
        scratch = folder / "data-hashing"
        shutil.rmtree(scratch, ignore_errors=True)
        try:
            hashing = measure_index(folder, scratch, "hashing", corpus, queries).result
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        result["hashing"] = {
            k: hashing[k] for k in ("passages", "passage_words", "ingest", "search", "answer")
        }
        result["ratio_to_hashing"] = {
            f"{what}_{mode}_p50": round(
                result[what][mode]["p50_ms"] / max(hashing[what][mode]["p50_ms"], 1e-6), 2
            )
            for what, modes in (("search", ("lexical", "dense", "hybrid")), ("answer", ("hybrid",)))
            for mode in modes
        }
    return result


@dataclass(frozen=True)
class Measured:
    """One index measured, with what the LangChain baseline needs to be scored alike."""

    result: dict
    snapshot: object
    relevant: list[set[int]]


def measure_index(
    folder: Path, data: Path, model: str, corpus: dict, queries: list[dict]
) -> Measured:
    """Sync `folder/corpus` into `data` with `model` (lexical index first, then vectors, as the
    page does), re-sync it, then time searches in every mode and answers."""
    from embeddings import collection_slug, load_embedder
    from rag import Assistant
    from rag.config import Settings
    from rag.retrieval import Retriever
    from rag.store import Store

    loaded = load_embedder(model)
    if loaded.name != model:
        raise ModelUnavailableError(f"mô hình {model} không nạp được: {loaded.warning}")
    ledger = VectorLedger(folder / f"vectors-{collection_slug(model)}.json")
    # Other RAG_* settings come from the environment (a Chroma server, fusion weights, ...).
    settings = Settings.from_env(
        dotenv=None, data_dir=data, embedding_model=model, llm_base_url=None
    )
    store = Store(settings, ledger.wrap(loaded))
    clock = StageClock(f"{corpus['documents']:,} tệp, {model}")
    cpu = cpu_seconds()
    report = store.sync(folder / "corpus", progress=clock, vectors=False)
    lexical_s = time.perf_counter() - clock.start
    pending = store.vectors_pending()
    build = time.perf_counter()
    with ledger.record():
        embedded = store.build_vectors(clock)
    build_s = time.perf_counter() - build
    ingest_s = clock.finish()
    ingest_cpu = cpu_seconds() - cpu
    snapshot = store.snapshot
    rss_ingest = maxrss_mb()

    t = time.perf_counter()
    again = Store(settings, loaded).sync(folder / "corpus")
    reingest_s = time.perf_counter() - t

    retriever = Retriever(store, settings)
    relevant = [relevant_positions(snapshot, q) for q in queries]
    folded = [q["folded"] for q in queries]
    modes = {}
    for mode in ("lexical", "dense", "hybrid"):
        retriever.search(queries[0]["text"], k=5, mode=mode)  # warm-up
        latencies, found = [], []
        for q in queries:
            t = time.perf_counter()
            hits = retriever.search(q["text"], k=5, mode=mode)
            latencies.append(time.perf_counter() - t)
            found.append([snapshot.position[h.chunk.chunk_id] for h in hits])
        modes[mode] = {
            **latency_summary(latencies, folded),
            **hit_rates(found, relevant, queries),
        }

    assistant = Assistant(settings, retriever)
    answers = {}
    for mode in ("hybrid", "lexical"):
        latencies = []
        for q in queries[:ANSWER_QUERIES]:
            t = time.perf_counter()
            assistant.ask(q["text"], mode=mode)
            latencies.append(time.perf_counter() - t)
        answers[mode] = latency_summary(latencies, folded[:ANSWER_QUERIES])
    # What a question pays the model in hybrid mode (questions without diacritics pay nothing).
    latencies = []
    for q in queries:
        if not q["folded"]:
            t = time.perf_counter()
            loaded.embedder.embed_query(q["text"])
            latencies.append(time.perf_counter() - t)
    rss_serving = maxrss_mb()

    chunks = snapshot.chunks
    result = {
        "passages": len(chunks),
        "passage_words": round(sum(len(c.text.split()) for c in chunks) / max(len(chunks), 1), 1),
        "ingest": {
            "seconds": round(ingest_s, 2),
            "chars_per_s": round(corpus["chars"] / ingest_s),
            "passages_per_s": round(len(chunks) / ingest_s, 1),
            "cpu_s": round(ingest_cpu, 2),
            "stages_s": {k: round(v, 2) for k, v in clock.stages.items()},
            "embedded": embedded,
            "errors": len(report.errors),
            "unchanged": report.unchanged,
            "lexical_s": round(lexical_s, 2),
        },
        "vectors": {
            "pending_at_start": pending,
            "embedded": embedded,
            "seconds": round(build_s, 2),
            "model": ledger.summary(),
        },
        "reingest": {
            "seconds": round(reingest_s, 2),
            "unchanged": again.unchanged,
            "embedded": again.embedded,
        },
        "search": modes,
        "answer": answers,
        "query_embedding": {**latency_summary(latencies), "queries": len(latencies)},
        "rss_mb": {"after_ingest": rss_ingest, "after_queries": rss_serving},
        "disk_mb": {
            "chroma": round(disk_bytes(data / "chroma") / 2**20, 1),
            "snapshot": round(disk_bytes(store.home) / 2**20, 1),
        },
    }
    return Measured(result, snapshot, relevant)


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
        **latency_summary(latencies),
        **hit_rates(found, relevant[:n], queries[:n]),
        "queries": n,
    }


def latency_summary(seconds: list[float], folded: list[bool] | None = None) -> dict:
    """p50 and p95 in ms; given which queries were typed without diacritics, also those of the
    others (in hybrid mode only they pay for a query embedding)."""
    ms = sorted(s * 1000 for s in seconds)
    out = {
        "p50_ms": round(statistics.median(ms), 3),
        "p95_ms": round(ms[min(len(ms) - 1, int(0.95 * len(ms)))], 3),
    }
    if folded is not None:
        accented = latency_summary([s for s, f in zip(seconds, folded, strict=True) if not f])
        out |= {"p50_ms_accented": accented["p50_ms"], "p95_ms_accented": accented["p95_ms"]}
    return out


def hit_rates(found: list[list[int]], relevant: list[set[int]], queries: list[dict]) -> dict:
    def rate(rows):
        return round(sum(rows) / len(rows), 4) if rows else None

    hit = [bool(set(f[:5]) & r) for f, r in zip(found, relevant, strict=True)]
    accented = [h for h, q in zip(hit, queries, strict=True) if not q["folded"]]
    hit1 = [bool(f[:1] and f[0] in r) for f, r in zip(found, relevant, strict=True)]
    return {"hit@1": rate(hit1), "hit@5": rate(hit), "hit@5_accented": rate(accented)}


_STARTUP = r"""
import os, resource, sys, time
print("start", flush=True)
from rag import Assistant
from rag.config import Settings
print("imported", flush=True)
assistant = Assistant.from_settings(Settings.from_env(dotenv=None))
n = assistant.status().chunks
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


def measure_startup(folder: Path, model: str = "hashing") -> dict:
    """Wall time from process start to each step of a fresh process opening the index."""
    env = {
        **os.environ,
        "RAG_DATA_DIR": str(folder / "data"),
        "RAG_CORPUS_DIR": str(folder / "corpus"),
        "RAG_EMBEDDING_MODEL": model,
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


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (the tokenizing workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def maxrss_mb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def disk_bytes(path: Path) -> int:
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
