"""Fit the evidence score of rag.abstain on the XQuAD-vi tune half.

In: a SQuAD-format file and a half (`--half tune`). Out (stdout): the weights and bias of the
logistic model over rag.abstain.FEATURES, and the abstention precision / recall and the answers
holding the reference that would be lost, cross-fitted on two halves of the articles, for each
threshold tried. Each question is asked twice: with its retrieved passages (answerable) and with
those of its own article removed (leave-article-out: unanswerable); index with the offline
`hashing` embedder, lexical retrieval, top 5 passages, the span rules (no reader).
Never writes into the repository: paste the figures into rag/abstain.py by hand.

    python -m eval.abstain_fit ../shared/data/xquad/xquad.vi.json --half tune
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import numpy as np

THRESHOLDS = (0.1, 0.15, 0.2, 0.25, 0.3, 0.35)


def rows(path: Path, half: str) -> list[dict]:
    os.environ["RAG_READER"] = "off"
    from embeddings import load_embedder
    from eval.squad import article_half, load_squad, write_corpus
    from rag.abstain import features
    from rag.answer.factoid import ExtractiveAnswerer
    from rag.config import Settings
    from rag.retrieval import Retriever
    from rag.scoring import idf_from_counts
    from rag.store import Store

    work = Path(tempfile.mkdtemp(prefix="abstain-fit-"))
    questions = write_corpus(article_half(load_squad(path), half), work / "corpus")
    settings = Settings.from_env(env={"RAG_DATA_DIR": str(work / "data"), "RAG_READER": "off"})
    store = Store(settings, load_embedder("hashing"))
    store.sync(work / "corpus")
    retriever = Retriever(store, settings)
    lexical = store.snapshot.lexical
    idf = idf_from_counts(lexical.folded_doc_freq, max(lexical.size, 1))
    # The answerer's other abstention rules, without this score (rag.abstain.THRESHOLD = 0).
    answerer = ExtractiveAnswerer(idf=idf, evidence_floor=0.0)
    out = []
    for n, q in enumerate(questions):
        article = q.doc_ids[0].split("_")[0]
        hits = retriever.search(q.question, k=20, mode="lexical")
        others = [h for h in hits if h.chunk.doc_id.split("_")[0] != article]
        for label, shown in ((1, hits[:5]), (0, others[:5])):
            answer = answerer.answer(q.question, shown)
            text = answer.text.lower()
            out.append(
                {
                    "fold": n * 2 // len(questions),
                    "label": label,
                    "x": features(q.question, shown, idf),
                    "abstained": answer.abstained,
                    "contains": bool(label and any(a.lower() in text for a in q.answers)),
                }
            )
    return out


def fit(x: np.ndarray, y: np.ndarray, l2: float = 1e-2, steps: int = 3000, lr: float = 0.5):
    """Logistic regression by gradient descent (L2 on the weights)."""
    w, b = np.zeros(x.shape[1]), 0.0
    for _ in range(steps):
        g = 1 / (1 + np.exp(-(x @ w + b))) - y
        w -= lr * (x.T @ g / len(y) + l2 * w)
        b -= lr * g.mean()
    return w, b


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m eval.abstain_fit")
    parser.add_argument("file", type=Path)
    parser.add_argument("--half", default="tune")
    args = parser.parse_args()
    data = rows(args.file, args.half)
    x = np.array([r["x"] for r in data])
    y = np.array([r["label"] for r in data], dtype=float)
    folds = np.array([r["fold"] for r in data])
    p = np.zeros(len(data))
    for f in (0, 1):
        w, b = fit(x[folds != f], y[folds != f])
        p[folds == f] = 1 / (1 + np.exp(-(x[folds == f] @ w + b)))
    w, b = fit(x, y)
    print("WEIGHTS =", tuple(round(float(v), 3) for v in w), " BIAS =", round(float(b), 3))
    negatives = int((y == 0).sum())
    for threshold in THRESHOLDS:
        abstain = [r["abstained"] or pi < threshold for r, pi in zip(data, p, strict=True)]
        right = sum(a and r["label"] == 0 for a, r in zip(abstain, data, strict=True))
        lost = sum(a and r["contains"] for a, r in zip(abstain, data, strict=True))
        print(
            f"threshold {threshold:.2f}: cross-fitted P {right / max(sum(abstain), 1):.3f} "
            f"R {right / max(negatives, 1):.3f}, answers holding the reference lost {lost}"
        )


if __name__ == "__main__":
    main()
