"""`python -m eval train-answerer FILE`: fit the direct-answer span model on the tune half.

In: a SQuAD-format file (XQuAD-vi). Only its tune half (`eval.squad.article_half`) is read:
its paragraphs are indexed (lexical retrieval, hashing embedder, as `eval squad --modes lexical`
runs), each question retrieves its passages, and every retrieved sentence of its own paragraph
that holds a reference gives training spans: the spans of best token F1 against the references
are positive, the other spans of the sentence negative. Out: rag/span_weights.json (the
logistic model of `rag.direct`) and, on stdout, the exact match and F1 of the model's best span
on those sentences. Never reads the held-out half.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from eval import metrics
from eval.squad import article_half, load_squad, write_corpus


def fit_logistic(rows, labels, ridge: float = 1e-2, steps: int = 30) -> tuple[list[float], float]:
    """Logistic regression by Newton's method with a small ridge, on standardised columns;
    the weights returned apply to the raw features."""
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
        step = np.linalg.solve(
            (z * (p * (1 - p))[:, None]).T @ z + penalty, z.T @ (p - y) + penalty @ w
        )
        w -= step
        if np.abs(step).max() < 1e-6:
            break
    weights = w[1:] / scale
    bias = w[0] - float((w[1:] * mean / scale).sum())
    return [round(float(v), 6) for v in weights], round(float(bias), 6)


def training_sentences(path: Path) -> list[tuple[str, str, list, tuple[str, ...]]]:
    """(question, sentence, typed spans, references) for every retrieved sentence of the
    question's own paragraph that holds a reference, over the tune half."""
    from rag import Assistant
    from rag.config import Settings
    from rag.question import question_kind
    from rag.sentences import candidate_sentences
    from rag.spans import typed_spans

    data = article_half(load_squad(path), "tune")
    out = []
    with tempfile.TemporaryDirectory(prefix="rag-answerer-") as tmp:
        questions = write_corpus(data, Path(tmp) / "corpus")
        settings = Settings.from_env(
            env={
                "RAG_DATA_DIR": str(Path(tmp) / "data"),
                "RAG_RETRIEVAL_MODE": "lexical",
                "RAG_EMBEDDING_MODEL": "hashing",
            },
            dotenv=None,
        )
        assistant = Assistant.from_settings(settings)
        assistant.ingest(Path(tmp) / "corpus")
        for q in questions:
            kind = question_kind(q.question)
            for s in candidate_sentences(assistant.search(q.question, mode="lexical")):
                if s.chunk.doc_id in q.doc_ids and metrics.contains_reference(s.text, q.answers):
                    typed = typed_spans(kind, s.text, q.question) if kind else []
                    out.append((q.question, s.text, typed, q.answers))
    return out


def run(args) -> int:
    from rag.answer.question import Question
    from rag.direct import FEATURES, WEIGHTS_FILE, SpanModel, spans

    rows, labels, groups = [], [], []
    for question, sentence, typed, answers in training_sentences(args.file):
        found = spans(Question.parse(question), sentence, typed)
        texts = [sentence[s.start : s.end] for s in found]
        f1 = [metrics.token_f1(t, answers) for t in texts]
        best = max(f1, default=0.0)
        if best <= 0:
            continue
        # Only the best spans are positive: soft F1 labels favour long spans that merely
        # contain the answer (exact match fell to 0.02 on the tune half in an earlier attempt).
        groups.append((len(rows), texts, answers))
        rows += [s.features for s in found]
        labels += [float(v == best) for v in f1]
    print(f"{len(groups)} câu, {len(rows)} đoạn ứng viên (nửa tune)", file=sys.stderr)
    weights, bias = fit_logistic(rows, labels)
    model = SpanModel(tuple(weights), bias)
    em = f1 = 0.0
    for start, texts, answers in groups:
        pick = max(range(len(texts)), key=lambda k: model(rows[start + k]))
        em += metrics.exact_match(texts[pick], answers)
        f1 += metrics.token_f1(texts[pick], answers)
    out = args.out or WEIGHTS_FILE
    spec = {"names": list(FEATURES), "weights": weights, "bias": bias}
    out.write_text(json.dumps(spec, indent=1) + "\n", "utf-8")
    print(f"tune: EM {em / len(groups):.3f}, F1 {f1 / len(groups):.3f} (câu chứa đáp án)")
    print(f"Đã ghi {out}")
    return 0


def add_arguments(cmd) -> None:
    cmd.add_argument("file", type=Path, help="tệp SQuAD (vd. xquad.vi.json); chỉ đọc nửa tune")
    cmd.add_argument("--out", type=Path, default=None, help="mặc định rag/span_weights.json")
