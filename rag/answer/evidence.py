"""The one evidence step of every answerer: retrieved passages -> sentences -> scored candidates.

In: a parsed `Question`, the retrieved `Hit`s, the IDF and (with a real model) the
question-sentence cosine. Out: `Evidence`: each sentence of the passages once, as a `Candidate`
with its coverage of the question's weighted words, its cosine, its typed spans of the asked
kind (a count only in the unit asked, a name only beside the office asked) and its sentence
score (rag.scoring), in sentence order and best first.
Never changes a sentence: spans are offsets into it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rag.answer.question import Question
from rag.question import role_matches
from rag.scoring import RANK_WEIGHT, Overlap, flat_idf, sentence_score
from rag.sentences import Sentence, candidate_sentences
from rag.spans import in_quotes, typed_spans, unit_fit
from rag.types import Hit

Similarity = Callable[[str, list[str]], list[float]]
Span = tuple[int, int]


@dataclass(frozen=True)
class Candidate:
    """One sentence of the passages as evidence for the question."""

    index: int  # its place in `Evidence.sentences` (equal scores keep this order)
    sentence: Sentence
    coverage: float  # share of the question's weighted words it holds (rag.scoring.Overlap)
    spans: tuple[Span, ...]  # typed spans of the asked kind in it, best first
    score: float  # rag.scoring.sentence_score


@dataclass(frozen=True)
class Evidence:
    sentences: tuple[Sentence, ...]
    candidates: tuple[Candidate, ...]  # in sentence order
    ranked: tuple[Candidate, ...]  # best first
    overlap: Overlap  # what the coverage was measured with


def gather(
    question: Question,
    hits: Sequence[Hit],
    idf: Callable[[str], float] = flat_idf,
    similarity: Similarity | None = None,
    rank_weight: float = RANK_WEIGHT,
    about: str | None = None,
    typed: bool = True,
) -> Evidence | None:
    """The evidence in `hits`, None when they hold no sentence. Coverage is measured on
    `about` (the question's own words by default; the shaped answerers leave out the asking
    words); typed spans are looked for when `typed` and the question asks a number, date,
    person or place, and then earn the sentence its typed bonus."""
    sentences = candidate_sentences(hits)
    if not sentences:
        return None
    overlap = Overlap(question.text if about is None else about, idf)
    dense = similarity(question.text, [s.text for s in sentences]) if similarity else None
    kind = question.kind if typed else None
    candidates = []
    for i, s in enumerate(sentences):
        coverage = overlap(s.text)
        spans = _typed(question, kind, s.text, idf) if kind else ()
        score = sentence_score(
            coverage, s.rank, dense[i] if dense else None, bool(spans), rank_weight
        )
        candidates.append(Candidate(i, s, coverage, spans, score))
    ranked = sorted(candidates, key=lambda c: (-c.score, c.index))
    return Evidence(tuple(sentences), tuple(candidates), tuple(ranked), overlap)


def _typed(question: Question, kind: str, text: str, idf) -> tuple[Span, ...]:
    """The typed spans of `text` that can answer: a name only where the office asked about
    stands ('Ai là Bí thư Thành ủy?') and outside quotes, a number only of the unit counted ('bao nhiêu đại
    biểu': a number of something else does not answer it)."""
    if question.role and not role_matches(question.role, text):
        return ()
    spans = typed_spans(kind, text, question, idf)
    if kind == "person":  # a name in a quoted title or slogan did not do what is asked
        spans = [sp for sp in spans if not in_quotes(text, *sp)]
    if question.unit:
        spans = [sp for sp in spans if unit_fit(text, sp, question.unit, question.head)]
    return tuple(spans)


__all__ = ["Candidate", "Evidence", "gather"]
