"""Run a question set against a corpus in an isolated index, mode by mode, and score it.

In: a corpus folder, `Question`s, retrieval modes and `Settings`. Out: one `Record` per question
and mode (the document ranking, the `Answer`; through an LLM, two: the extractive draft shown
first and the LLM's answer) and the report dictionary of DESIGN.md, with the figures per source
(article title, or question type) and the documents the loader skipped.
Never touches the user's index: everything is built in a temporary data folder.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from eval import metrics
from eval.questions import Question
from rag.citations import passage_match
from rag.config import RETRIEVAL_MODES, Settings
from rag.types import Answer, Filters

# Chunks retrieved to rank documents: enough for ten distinct documents in most corpora.
RANKING_CHUNKS = 20
RANKING_CHUNKS_MAX = 60
RANKING_DEPTH = 10


@dataclass(frozen=True)
class Record:
    """One question asked in one mode."""

    question: Question
    mode: str
    documents: tuple[str, ...]  # retrieved documents, best first (chunk hits deduplicated)
    answer: Answer
    judge: dict = field(default_factory=dict)

    @property
    def cited(self) -> list[str]:
        return list(dict.fromkeys(c.doc_id for c in self.answer.citations))

    @property
    def short_answer(self) -> str | None:
        """The direct answer the page shows first; None when the answerer gives none."""
        return getattr(self.answer, "short_answer", None)

    @property
    def source(self) -> str:
        """The group this question is reported in: its article (SQuAD), else its type."""
        return self.question.source or self.question.type or "—"

    def scores(self) -> dict:
        """This question's own figures, as they enter the averages."""
        q, a = self.question, self.answer
        out: dict = {"abstained": a.abstained}
        shown = None if a.abstained else self.short_answer
        if shown:
            # Whether a cited passage says the direct answer (case, spacing, tone placement aside).
            out["short_in_cited"] = float(any(passage_match(shown, c.passage) for c in a.citations))
        if not q.answerable:
            return out
        gold = q.doc_ids
        out.update(
            {
                "hit@1": metrics.hit_at(self.documents, gold, 1),
                "hit@3": metrics.hit_at(self.documents, gold, 3),
                "hit@5": metrics.hit_at(self.documents, gold, 5),
                "recall@5": metrics.recall_at(self.documents, gold, 5),
                "mrr@10": metrics.mrr_at(self.documents, gold, RANKING_DEPTH),
                "ndcg@10": metrics.ndcg_at(self.documents, gold, RANKING_DEPTH),
            }
        )
        text = "" if a.abstained else a.text
        out["contains_reference"] = float(metrics.contains_reference(text, q.answers))
        out["token_f1"] = metrics.token_f1(text, q.answers)
        out["exact_match"] = metrics.exact_match(text, q.answers)
        if not a.abstained:
            cited = self.cited
            out["citation_correct"] = sum(d in gold for d in cited) / len(cited) if cited else 0.0
            out["citation_supported"] = (
                sum(c.supported for c in a.citations) / len(a.citations) if a.citations else 0.0
            )
            out["answer_words"] = float(metrics.word_count(a.text))
        if a.span is not None and not a.abstained:
            out["span_exact_match"] = metrics.exact_match(a.span, q.answers)
            out["span_f1"] = metrics.token_f1(a.span, q.answers)
        # Over every answerable question, as reader pipelines are scored: no short answer is 0.
        short = None if a.abstained else self.short_answer
        out["short_exact_match"] = metrics.exact_match(short, q.answers) if short else 0.0
        out["short_f1"] = metrics.token_f1(short, q.answers) if short else 0.0
        return out

    def failed(self) -> bool:
        s = self.scores()
        if not self.question.answerable:
            return not self.answer.abstained
        return not s["contains_reference"] or not s["hit@5"]


Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Indexed:
    """An assistant over an evaluation corpus, and the documents its ingest skipped."""

    assistant: object
    skipped: tuple[tuple[str, str], ...]  # (doc_id, reason)


@contextmanager
def isolated_assistant(
    settings: Settings,
    corpus: Path,
    progress: Progress | None = None,
    modes: Sequence[str] = RETRIEVAL_MODES,
) -> Iterator[Indexed]:
    """An `Assistant` over `corpus`, indexed in a temporary data folder removed afterwards.
    Vectors are built only when one of `modes` searches them: the bundled model embeds
    30,000 XQuAD paragraphs in over 25 minutes on two cores, for nothing in lexical mode."""
    from rag.assistant import Assistant

    with tempfile.TemporaryDirectory(prefix="rag-eval-") as tmp:
        isolated = replace(settings, data_dir=Path(tmp) / "data", corpus_dir=Path(corpus))
        assistant = Assistant.from_settings(isolated)
        vectors = any(mode != "lexical" for mode in modes)
        ingested = assistant.ingest(Path(corpus), progress=progress, vectors=vectors)
        for f in ingested.refused:
            print(f"Bỏ qua {f.name}: {f.reason}", file=sys.stderr)
        yield Indexed(assistant, tuple((f.name, f.reason) for f in ingested.refused))


def document_ranking(
    assistant, question: str, mode: str, filters: Filters | None = None
) -> tuple[str, ...]:
    """Documents in the order their best chunk is retrieved, at least ten when the corpus has."""
    k = RANKING_CHUNKS
    while True:
        hits = assistant.search(question, k=k, mode=mode, filters=filters)
        ranked = metrics.ranked_documents(h.chunk.doc_id for h in hits)
        if len(ranked) >= RANKING_DEPTH or len(hits) < k or k >= RANKING_CHUNKS_MAX:
            return tuple(ranked)
        k = RANKING_CHUNKS_MAX


def ask_all(
    assistant, questions: Sequence[Question], mode: str, tick: Callable[[], None] = lambda: None
) -> Iterator[Record]:
    every = tuple(sorted(d.doc_id for d in assistant.documents()))
    for q in questions:
        # A question asked without some documents searches only the others.
        filters = (
            Filters(doc_ids=tuple(d for d in every if d not in q.excluded)) if q.excluded else None
        )
        answer = assistant.ask(q.question, history=list(q.history), mode=mode, filters=filters)
        documents = document_ranking(
            assistant, answer.standalone_question or q.question, mode, filters
        )
        yield Record(q, mode, documents, answer)
        tick()


LLM_SUFFIX = "+llm"


def ask_all_llm(
    assistant, questions: Sequence[Question], mode: str, tick: Callable[[], None] = lambda: None
) -> Iterator[tuple[Record, Record]]:
    """Each question once through the LLM path: the extractive answer the page shows first
    (its `Draft`, as mode `mode`) and the answer that replaces it (mode `mode` + LLM_SUFFIX),
    so both are scored on the same questions in the same run."""
    from rag.chain import Draft

    every = tuple(sorted(d.doc_id for d in assistant.documents()))
    for q in questions:
        filters = (
            Filters(doc_ids=tuple(d for d in every if d not in q.excluded)) if q.excluded else None
        )
        draft = final = None
        for event in assistant.stream(
            q.question, history=list(q.history), mode=mode, filters=filters
        ):
            if isinstance(event, Draft):
                draft = event.answer
            elif isinstance(event, Answer):
                final = event
        # Small talk, summaries and the like are answered without the LLM: no draft.
        draft = draft or final
        documents = document_ranking(
            assistant, final.standalone_question or q.question, mode, filters
        )
        yield (
            Record(q, mode, documents, replace(draft, notice=None)),
            Record(q, mode + LLM_SUFFIX, documents, final),
        )
        tick()


def _mean_of(rows: list[dict], key: str) -> float | None:
    return metrics.mean([r[key] for r in rows if key in r])


def _zero(value: float | None) -> float:
    return 0.0 if value is None else value


def summarize(records: Sequence[Record]) -> dict:
    """The `modes.<mode>` section of report.json for one mode's records."""
    rows = [r.scores() for r in records]
    answerable = [s for r, s in zip(records, rows, strict=True) if r.question.answerable]
    precision, recall = metrics.abstention_scores(
        [r.answer.abstained for r in records], [r.question.answerable for r in records]
    )
    retrieve = [r.answer.timings_ms.get("retrieve", 0.0) for r in records]
    answer = [r.answer.timings_ms.get("answer", 0.0) for r in records]
    section = {
        "retrieval": {
            key: _zero(_mean_of(answerable, key))
            for key in ("hit@1", "hit@3", "hit@5", "recall@5", "mrr@10", "ndcg@10")
        },
        "answer": {
            "contains_reference": _zero(_mean_of(answerable, "contains_reference")),
            "token_f1": _zero(_mean_of(answerable, "token_f1")),
            "exact_match": _zero(_mean_of(answerable, "exact_match")),
            "citation_correct": _zero(_mean_of(answerable, "citation_correct")),
            "citation_supported": _zero(_mean_of(answerable, "citation_supported")),
            "abstain_precision": precision,
            "abstain_recall": recall,
            "mean_answer_words": _zero(_mean_of(answerable, "answer_words")),
            "span_exact_match": _mean_of(answerable, "span_exact_match"),
            "span_f1": _mean_of(answerable, "span_f1"),
            "short_exact_match": _zero(_mean_of(answerable, "short_exact_match")),
            "short_f1": _zero(_mean_of(answerable, "short_f1")),
            "short_in_cited": _mean_of(rows, "short_in_cited"),
        },
        "latency_ms": {
            "retrieve_p50": metrics.percentile(retrieve, 50),
            "retrieve_p95": metrics.percentile(retrieve, 95),
            "answer_p50": metrics.percentile(answer, 50),
            "answer_p95": metrics.percentile(answer, 95),
        },
    }
    # The LLM path: when the first answer showed (the extractive draft) and the whole answer.
    if any("first_shown" in r.answer.timings_ms for r in records):
        shown = [r.answer.timings_ms.get("first_shown", 0.0) for r in records]
        total = [r.answer.timings_ms.get("total", 0.0) for r in records]
        section["latency_ms"] |= {
            "first_shown_p50": metrics.percentile(shown, 50),
            "first_shown_p95": metrics.percentile(shown, 95),
            "total_p50": metrics.percentile(total, 50),
            "total_p95": metrics.percentile(total, 95),
        }
    section["by_source"] = by_source(records)
    judged = [r.judge for r in records if r.judge]
    if judged:
        section["judge"] = {
            key: metrics.mean([j[key] for j in judged if j.get(key) is not None])
            for key in ("faithfulness", "answer_relevance")
        } | {"n_judged": len(judged)}
    return section


BY_SOURCE_KEYS = ("hit@5", "contains_reference", "short_f1")


def by_source(records: Sequence[Record]) -> dict[str, dict]:
    """Per source, in order of first appearance: the number of questions and the means of
    BY_SOURCE_KEYS over its answerable ones (None when it has none, e.g. "unanswerable")."""
    groups: dict[str, list[Record]] = {}
    for r in records:
        groups.setdefault(r.source, []).append(r)
    out = {}
    for source, members in groups.items():
        rows = [r.scores() for r in members if r.question.answerable]
        out[source] = {"n": len(members)} | {key: _mean_of(rows, key) for key in BY_SOURCE_KEYS}
    return out


def build_report(
    dataset: str,
    questions: Sequence[Question],
    n_documents: int,
    by_mode: dict[str, list[Record]],
    skipped: Sequence[tuple[str, str]] = (),
) -> dict:
    return {
        "dataset": dataset,
        "n_questions": len(questions),
        "n_documents": n_documents,
        "modes": {mode: summarize(records) for mode, records in by_mode.items()},
        "skipped_documents": [{"doc_id": d, "reason": reason} for d, reason in skipped],
    }
