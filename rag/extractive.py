"""The extractive answerer: the sentences of the retrieved passages that answer the question.

In: a standalone question and the retrieved `Hit`s (and, when a real embedding model runs, a
question-sentence cosine). Out: an `Answer` of 1-2 original sentences (the clause holding the
answer of a long one), each cited, with the answering span marked, or an abstention when the
best sentence covers too little of the question or lacks the number, date or name it asks.
Never rewrites quoted text: every shown piece is a slice of the original article.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rag.citations import abstention
from rag.errors import one_line
from rag.question import asked_role, asked_unit, numbers_agree, question_kind, role_matches, terms
from rag.scoring import Overlap, flat_idf, jaccard
from rag.sentences import Sentence, candidate_sentences
from rag.spans import typed_spans, unit_fit
from rag.types import Answer, Citation, Hit

# Calibrated on eval/questions.jsonl (see docs/evaluation.md): below this share of the
# question's weighted terms found in the best sentence, the evidence is too weak to answer.
ABSTAIN_THRESHOLD = 0.3

Similarity = Callable[[str, list[str]], list[float]]


class ExtractiveAnswerer:
    """Picks the 1-2 sentences of the retrieved passages that best answer the question."""

    def __init__(
        self,
        idf: Callable[[str], float] = flat_idf,
        abstain_threshold: float = ABSTAIN_THRESHOLD,
        second_ratio: float = 0.3,
        rank_weight: float = 0.2,
        similarity: Similarity | None = None,
    ):
        self.idf = idf
        self.abstain_threshold = abstain_threshold
        self.second_ratio = second_ratio
        self.rank_weight = rank_weight
        self.similarity = similarity  # dense question-sentence cosine, when a real model runs

    def answer(self, question: str, hits: Sequence[Hit]) -> Answer:
        sentences = candidate_sentences(hits)
        if not sentences:
            return abstention(question)
        overlap = Overlap(question, self.idf)
        kind = question_kind(question)
        coverage = [overlap(s.text) for s in sentences]
        dense = self.similarity(question, [s.text for s in sentences]) if self.similarity else None
        units = asked_unit(question) if kind == "number" else []
        role = asked_role(question) if kind == "person" else None
        scored = []
        for i, s in enumerate(sentences):
            spans = typed_spans(kind, s.text, question, self.idf) if kind else []
            if role and not role_matches(role, s.text):
                spans = []  # a name, but not of the one who holds the title asked about
            if units:  # "bao nhiêu đại biểu": a number of something else does not answer it
                spans = [sp for sp in spans if unit_fit(s.text, sp, units)]
            score = coverage[i] + (0.15 if spans else 0.0) + self.rank_weight / s.rank
            if dense is not None:
                score += 0.3 * dense[i]
            scored.append((score, coverage[i], i, spans))
        ranked = sorted(scored, key=lambda item: (-item[0], item[2]))
        best_cov, best_spans = ranked[0][1], ranked[0][3]
        if (
            best_cov < self.abstain_threshold
            or (
                (kind in ("number", "date") or role)
                and not best_spans
                and not any(x[3] for x in ranked[:3])
            )
            or not numbers_agree(question, _around(sentences[ranked[0][2]]))
        ):
            return abstention(question)
        second = self._second(sentences, scored, ranked[0], bool(kind))
        chosen = [ranked[0]] + ([second] if second else [])
        if (kind in ("number", "date") or role) and not any(item[3] for item in chosen):
            return abstention(question)
        return self._compose(question, [(sentences[i], spans) for _, _, i, spans in chosen], kind)

    def _second(
        self, sentences: list[Sentence], scored: list[tuple], best: tuple, typed: bool
    ) -> tuple | None:
        """A second sentence from the best one's article: its neighbour often holds what the
        best one leaves implicit. Near-duplicates (repeated captions) are skipped; when the
        question wants a number, date, person or place the best one lacks, a sentence that
        has one comes first."""
        best_sentence = sentences[best[2]]
        doc = best_sentence.chunk.doc_id
        best_terms = set(terms(best_sentence.text, folded=True))
        options = []
        for item in scored:
            sentence = sentences[item[2]]
            if item[2] == best[2] or sentence.chunk.doc_id != doc:
                continue
            if jaccard(best_terms, set(terms(sentence.text, folded=True))) >= 0.6:
                continue
            near = (
                abs(sentence.start - best_sentence.end) < 3
                or abs(best_sentence.start - sentence.end) < 3
            )
            if typed and best[3] and not near:
                continue  # the answer is in hand: only its immediate context may join it
            bonus = (0.1 if near else 0.0) + (0.2 if typed and item[3] and not best[3] else 0.0)
            options.append((item[0] + bonus, item))
        if not options:
            return None
        value, item = max(options, key=lambda o: (o[0], -o[1][2]))
        # A best sentence that already holds the asked-for number, date or name needs company
        # only from an almost equally good neighbour.
        ratio = 0.8 if typed and best[3] else self.second_ratio
        return item if value >= ratio * best[0] else None

    def _compose(
        self, question: str, picked: list[tuple[Sentence, list[tuple[int, int]]]], kind: str | None
    ) -> Answer:
        # The sentence holding the answer first; otherwise file order, which reads naturally.
        picked.sort(key=lambda p: (not p[1], p[0].rank, p[0].start))
        parts, citations = [], []
        span_text = None
        # One citation per sentence, even from one passage: each then highlights its own quote.
        for n, (sentence, spans) in enumerate(picked, 1):
            chunk = sentence.chunk
            span = local = None
            if spans and span_text is None:
                local = spans[0]
                span = (sentence.start + local[0], sentence.start + local[1])
                span_text = sentence.text[local[0] : local[1]]
            cs, ce = _clause(sentence.text, local)
            shown = sentence.text[cs:ce]
            if ce < len(sentence.text.rstrip(".!?…")):
                shown = shown.rstrip(" ,;") + " …"
            if cs > 0:
                shown = "… " + shown
            parts.append(f"{one_line(shown)} [{n}]")
            citations.append(Citation.of(chunk, n, sentence.start, sentence.end, True, span))
        return Answer(
            text=" ".join(parts),
            citations=tuple(citations),
            abstained=False,
            mode="extractive",
            question=question,
            standalone_question=question,
            span=span_text,
            short_answer=span_text,
        )


def _around(sentence: Sentence, reach: int = 150) -> str:
    """The sentence with a little of its passage on each side."""
    chunk = sentence.chunk
    start = max(0, sentence.start - chunk.start - reach)
    return chunk.text[start : sentence.end - chunk.start + reach]


LONG_SENTENCE_WORDS = 40


def _clause(text: str, span: tuple[int, int] | None) -> tuple[int, int]:
    """Within a long sentence, the clause between semicolons that holds the answering span:
    a short answer that is still the article's own words. (Cutting further, at commas, made
    XQuAD-vi answers lose their gold answer 1.8 points more often when the span was wrong.)"""
    if span is None or len(text.split()) <= LONG_SENTENCE_WORDS:
        return 0, len(text)
    start = text.rfind(";", 0, span[0]) + 1
    end = text.find(";", span[1])
    end = len(text) if end < 0 else end
    while start < end and text[start].isspace():
        start += 1
    return start, end
