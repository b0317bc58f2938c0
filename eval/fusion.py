"""`python -m eval fusion`: how document hit@1/hit@5 of the hybrid mode move with the dense
weight, on a SQuAD file, per way of writing the question (`rag.fusion.question_script`).

In: a SQuAD file (usually one half of its articles, `--half tune`), `Settings` (the embedder).
Out: a table on stdout, one row per dense weight: hit@1 and hit@5 for the questions as written
and with their diacritics removed. Every question's lexical and dense rankings are computed once;
each weight then only re-fuses them, exactly as `Retriever.search` does in hybrid mode.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from eval import metrics
from eval.questions import Question
from rag.fusion import FusionWeights, linear_fusion
from rag.retrieval import Rankings
from rag.text import fold

WEIGHTS = tuple(round(0.1 * i, 1) for i in range(11))
# The runner ranks documents from 20 retrieved chunks, out of a pool of 80 per ranking.
CHUNKS = 20
POOL = 80


@dataclass(frozen=True)
class Ranked:
    """One question's two rankings over the chunks of the snapshot, and its gold documents."""

    rankings: Rankings
    gold: tuple[str, ...]


def rankings(assistant, questions: Sequence[Question], fold_questions: bool) -> list[Ranked]:
    return [
        Ranked(
            assistant.rankings(fold(q.question) if fold_questions else q.question, POOL),
            q.doc_ids,
        )
        for q in questions
    ]


def hits(ranked: Sequence[Ranked], dense_weight: float) -> tuple[float, float]:
    """(hit@1, hit@5) of the documents ranked by fusing with this dense weight."""
    weights = FusionWeights(lexical=1.0 - dense_weight, dense=dense_weight)
    at1 = at5 = 0.0
    for r in ranked:
        fused = linear_fusion(r.rankings.lexical, r.rankings.dense, weights)[:CHUNKS]
        documents = metrics.ranked_documents(r.rankings.doc_ids[pos] for pos, _ in fused)
        at1 += metrics.hit_at(documents, r.gold, 1)
        at5 += metrics.hit_at(documents, r.gold, 5)
    return at1 / len(ranked), at5 / len(ranked)


def run(args, settings) -> int:
    from eval.runner import isolated_assistant
    from eval.squad import article_half, load_squad, write_corpus

    data = load_squad(args.file)
    if args.half:
        data = article_half(data, args.half)
    with tempfile.TemporaryDirectory(prefix="rag-fusion-") as tmp:
        corpus = Path(tmp) / "corpus"
        questions = [q for q in write_corpus(data, corpus) if q.answerable]
        with isolated_assistant(settings, corpus) as indexed:
            assistant = indexed.assistant
            model = assistant.status().embedding_model
            accented = rankings(assistant, questions, fold_questions=False)
            folded = rankings(assistant, questions, fold_questions=True)
            rows = [(w, *hits(accented, w), *hits(folded, w)) for w in WEIGHTS]
    half = f", half {args.half}" if args.half else ""
    print(f"{args.file.name}{half}: {len(questions)} questions, embedder {model}")
    print("dense_w  hit@1   hit@5   | no diacritics: hit@1   hit@5")
    for w, a1, a5, f1, f5 in rows:
        print(f"{w:7.1f}  {a1:.3f}   {a5:.3f}   |                {f1:.3f}   {f5:.3f}")
    sys.stdout.flush()
    return 0
