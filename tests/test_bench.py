"""`eval.bench` at a tiny size: the report's shape and its exact, timing-free values."""

from __future__ import annotations

import argparse
import json

import pytest

from eval import bench

# Each test builds and measures a corpus in a child process.
pytestmark = pytest.mark.slow


def _run(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    bench.add_arguments(parser)
    return bench.run(parser.parse_args(list(argv)))


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> dict:
    # Only the benchmark itself reads XQuAD-vi; tests that need no data never skip with it.
    if not bench.XQUAD.is_file():
        pytest.skip("XQuAD-vi is not beside the repo")
    out = tmp_path_factory.mktemp("bench")
    parser = argparse.ArgumentParser()
    bench.add_arguments(parser)
    args = parser.parse_args(["--sizes", "200", "--queries", "20", "--out", str(out)])
    assert bench.run(args) == 0
    assert (out / "report.md").read_text("utf-8").startswith("# Benchmark")
    assert (out / "latency.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return json.loads((out / "report.json").read_text("utf-8"))


def test_report_has_every_section(report):
    assert set(report) == {"machine", "command", "sizes"}
    assert list(report["sizes"]) == ["200"]
    size = report["sizes"]["200"]
    for key in (
        "ingest",
        "reingest",
        "search",
        "answer",
        "baseline",
        "startup",
        "rss_mb",
        "disk_mb",
    ):
        assert key in size
    assert set(size["search"]) == {"lexical", "dense", "hybrid"}
    assert set(size["answer"]) == {"hybrid", "lexical"}
    assert {"p50_ms", "p95_ms", "hit@1", "hit@5", "hit@5_accented"} <= set(size["baseline"])
    assert report["machine"]["cpus"] >= 1


def test_corpus_and_queries_are_the_seeded_ones(report):
    size = report["sizes"]["200"]
    assert (size["documents"], size["queries"], size["queries_folded"]) == (20, 20, 5)
    assert 150 <= size["passages"] <= 300
    assert size["ingest"]["embedded"] == size["passages"]
    assert size["ingest"]["errors"] == 0


def test_reingest_of_an_unchanged_corpus_embeds_nothing(report):
    size = report["sizes"]["200"]
    assert (size["reingest"]["unchanged"], size["reingest"]["embedded"]) == (20, 0)


def test_lexical_search_finds_every_query_passage(report):
    size = report["sizes"]["200"]
    # Each query quotes two sentences of its passage, so BM25 over both fields finds it.
    assert size["search"]["lexical"]["hit@5"] == 1.0
    assert size["search"]["lexical"]["hit@5_accented"] == 1.0
    # LangChain's default splits on spaces only: 2 of the 5 queries typed without accents
    # miss, every accented one is found.
    assert (size["baseline"]["hit@5"], size["baseline"]["hit@5_accented"]) == (0.9, 1.0)


def test_start_up_answers_from_the_built_index(report):
    startup = report["sizes"]["200"]["startup"]
    assert (
        startup["start_s"] <= startup["imported_s"] <= startup["ready_s"] <= startup["answered_s"]
    )
    assert startup["rss_mb"] > 0


def test_parallel_tokenizing_gives_the_serial_tokens(monkeypatch, seed_corpus, tmp_path):
    """The worker processes that large ingests use return exactly what one process would."""
    from rag.lexical import index_tokens
    from rag.sync import Tokenizing as _Tokenizing

    texts = [
        p.read_text("utf-8")[i : i + 800]
        for p in sorted(seed_corpus.glob("*.txt"))
        for i in (0, 800)
    ]
    monkeypatch.setattr(_Tokenizing, "PARALLEL_MIN_CHARS", 0)
    tokenizing = _Tokenizing(texts, tmp_path)
    try:
        tokens = tokenizing.result(lambda *_: None)
    finally:
        tokenizing.close()
    assert tokens == [index_tokens(t) for t in texts]


@pytest.fixture(scope="module")
def kept(tmp_path_factory) -> tuple[dict, dict]:
    """The same short-passage size run twice over one --keep folder."""
    if not bench.XQUAD.is_file():
        pytest.skip("XQuAD-vi is not beside the repo")
    keep, out = tmp_path_factory.mktemp("keep"), tmp_path_factory.mktemp("out")
    common = ["--sizes", "60", "--queries", "8", "--passage-words", "30", "--keep", str(keep)]
    runs = []
    for _ in range(2):
        assert _run(*common, "--out", str(out), "--no-baseline", "--no-startup") == 0
        runs.append(json.loads((out / "report.json").read_text("utf-8"))["sizes"]["60"])
    assert sorted(p.name for p in keep.iterdir()) == ["60-w30"]
    return runs[0], runs[1]


def test_short_passages_are_one_passage_per_file(kept):
    first, _ = kept
    assert (first["documents"], first["passages"]) == (60, 60)
    # Two 15-word windows of two sentences (a sentence shorter than 15 words comes whole).
    assert 25 <= first["passage_words"] <= 30
    assert first["search"]["lexical"]["hit@5"] == 1.0


def test_a_kept_folder_is_reused_and_nothing_is_embedded_twice(kept):
    first, second = kept
    assert (first["ingest"]["unchanged"], first["vectors"]["embedded"]) == (0, 60)
    assert (second["ingest"]["unchanged"], second["vectors"]["embedded"]) == (60, 0)
    assert second["vectors"]["pending_at_start"] == 0
    # The ledger of what the model embedded is summed over both runs: 60 passages, once.
    assert first["vectors"]["model"]["all_runs"]["passages"] == 60
    assert second["vectors"]["model"]["this_run"]["passages"] == 0
    assert second["vectors"]["model"]["all_runs"] == first["vectors"]["model"]["all_runs"]


def test_the_vector_ledger_counts_build_passages_only_and_survives_a_restart(tmp_path):
    from embeddings import load_embedder
    from eval.bench.build import VectorLedger

    passages = ["Chi bộ triển khai kế hoạch.", "Năm 2021 là năm hành động."]
    loaded = load_embedder("hashing")
    ledger = VectorLedger(tmp_path / "ledger.json")
    counted = ledger.wrap(loaded).embedder
    counted.embed_array(passages)  # outside a build: the answerer's sentence similarity
    with ledger.record():
        vectors = counted.embed_array(passages)
        counted.embed_query("Chi bộ làm gì?")
    assert (vectors == loaded.embedder.embed_array(passages)).all()
    assert ledger.this_run["passages"] == 2
    assert ledger.this_run["chars"] == sum(len(p) for p in passages)
    again = VectorLedger(tmp_path / "ledger.json")
    assert (again.totals["passages"], again.totals["chars"]) == (2, 53)
    assert again.this_run["passages"] == 0
