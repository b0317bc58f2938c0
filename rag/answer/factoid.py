"""The extractive answerer: the direct answer first, cut from the retrieved sentences.

In: a standalone question and the retrieved `Hit`s (and, when a real embedding model runs, a
question-sentence cosine). Out: an `Answer`: the direct answer (the `short_answer`) cited: the
neural reader's span (`rag.reader`) in the passages of the 1-2 best sentences, or (numbers,
dates, no reader) the best sentence's most probable span (`rag.direct`); then one excerpt of its
sentence, ANSWER_WORDS words with the answer; the differing answers of other articles each on its own line with their
source, when they score as well; the 1-2 sentences themselves when no span is probable enough;
or an abstention when the best sentence covers too little of the question or lacks the number,
date or name it asks, or when the passages lack the question's key words (rag.abstain's score).
Never rewrites quoted text: every shown piece is a slice of the original article. Never bolds
a span of another type than the question asks (rag.answertype): a slogan is no name, a count
of another unit no answer; without one of the asked type, the sentences answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from rag.abstain import ABSTAIN_THRESHOLD, THRESHOLD, too_weak
from rag.answer.evidence import Candidate, Evidence, Similarity, gather
from rag.answer.question import Question
from rag.answertype import NONE, ORGANIZATION, PERSON, STRONG, TITLE, WEAK, agreement, span_types
from rag.citations import abstention
from rag.dates import display_date
from rag.direct import SpanModel, best_span, tagged
from rag.errors import one_line
from rag.question import terms
from rag.reader import Reader, whole_words
from rag.scoring import RANK_WEIGHT, flat_idf, jaccard
from rag.sentences import Sentence
from rag.spans import in_quotes
from rag.text import canonical, fold
from rag.types import Answer, Chunk, Citation, Hit

# Words of an excerpt shown after a direct answer (why/how and yes/no answers,
# rag.answer.shaped): on the XQuAD-vi tune half, 25/30/33/35/45 gave contains
# 0.470/0.515/0.552/0.563/0.629 at 23.6/27.1/29.0/30.2/36.9 words.
SUPPORT_WORDS = 33
# Words of a direct answer and the excerpt of its sentence together; the excerpt keeps at least
# SUPPORT_MIN_WORDS. On three quarters of the XQuAD-vi tune half, each held out from its own
# cross-fitted reader (470 questions): contains 0.638 at 29.4 words; 37 words: 0.645 at 30.5;
# a fixed 33-word excerpt: 0.657 at 31.2 (docs/evaluation.md). The mean of 30 words the
# issue asks for is met here at the cost of about 0.02 contains.
ANSWER_WORDS = 35
SUPPORT_MIN_WORDS = 15
# Below this probability of its best span, the answer is the sentence itself, not a short
# answer that would likely be wrong and cut the sentence around itself. The lowest of the
# floors tried (0.01-0.05) that keeps the seed set's contains_reference above its target of
# 0.85 (0.01: 0.831, 0.03: 0.846, 0.04: 0.862); on the XQuAD-vi tune half 0.04 gives contains
# 0.681 at 46.5 words against 0.575 at 29.5 words for 0.01.
SPAN_FLOOR = 0.04
# The reader's (rag.reader) span in the picked sentences stands first when at least this
# probable. On a dev quarter of the XQuAD-vi tune half every floor tried (0.05-0.3) traded
# short EM/F1 for contains at more words (docs/evaluation.md).
READER_FLOOR = 0.0
# The calibrated score (rag.abstain) that the passages hold the answer, below which the
# answerer abstains whatever its best sentence: the question's key words are not there.
EVIDENCE_FLOOR = THRESHOLD
# Other articles' answers are listed when their sentence scores at least this share of the
# best one's, up to MAX_LISTED answers in all.
CLOSE = 0.9
MAX_LISTED = 3
SEVERAL_HEAD = "Các tài liệu nêu khác nhau:"

# Sentence vectors kept in memory by `cosine_similarity` (384 floats each: ~30 MB).
SENTENCE_VECTORS = 20_000


def cosine_similarity(model, memo: dict) -> Similarity:
    """The question-text cosine of an embedding model; the texts' vectors are kept in `memo`
    (the same retrieved passages come back for many questions)."""

    def cosine(question: str, texts: list[str]) -> list[float]:
        import numpy as np

        q = np.asarray(model.embed_array([question], is_query=True))[0]
        # Read once into a local dict: another chat's thread may clear the memo meanwhile.
        known = {t: memo.get(t) for t in texts}
        missing = [t for t, v in known.items() if v is None]
        if missing:
            made = dict(zip(missing, np.asarray(model.embed_array(missing)), strict=True))
            known.update(made)
            if len(memo) + len(made) > SENTENCE_VECTORS:
                memo.clear()
            memo.update(made)
        return [float(known[t] @ q) for t in texts]

    return cosine


class ExtractiveAnswerer:
    """Picks the sentence of the retrieved passages that best answers the question, and the
    direct answer in it."""

    def __init__(
        self,
        idf: Callable[[str], float] = flat_idf,
        abstain_threshold: float = ABSTAIN_THRESHOLD,
        second_ratio: float = 0.3,
        rank_weight: float = RANK_WEIGHT,
        similarity: Similarity | None = None,
        answer_words: int = ANSWER_WORDS,
        span_model: SpanModel | None = None,
        span_floor: float = SPAN_FLOOR,
        reader: Reader | None = None,
        reader_floor: float = READER_FLOOR,
        evidence_floor: float = EVIDENCE_FLOOR,
    ):
        self.evidence_floor = evidence_floor
        self.reader = reader  # the neural reader (rag.reader), when its weights load
        self.reader_floor = reader_floor
        self.span_floor = span_floor
        self.answer_words = answer_words
        self.span_model = span_model
        self.idf = idf
        self.abstain_threshold = abstain_threshold
        self.second_ratio = second_ratio
        self.rank_weight = rank_weight
        self.similarity = similarity  # dense question-sentence cosine, when a real model runs

    def answer(self, question: str, hits: Sequence[Hit]) -> Answer:
        q = Question.parse(question)
        evidence = gather(q, hits, self.idf, self.similarity, self.rank_weight)
        if evidence is None:
            return abstention(question)
        expected = q.expected

        def typed(text: str) -> bool:  # a span of another type is never the answer
            return agreement(expected, text) != NONE

        def strict(text: str) -> bool:
            return agreement(expected, text) == STRONG

        kind, role, ranked = q.kind, q.role, evidence.ranked
        top = ranked[0]
        if (
            (kind in ("number", "date") or role)
            and not top.spans
            and not any(c.spans for c in ranked[:3])
        ) or too_weak(
            question,
            top.coverage,
            top.sentence.chunk.text,
            hits,
            self.idf,
            self.abstain_threshold,
            self.evidence_floor,
        ):
            return abstention(question)
        second = self._second(evidence, top, bool(kind))
        chosen = [top] + ([second] if second else [])
        if (kind in ("number", "date") or role) and not any(c.spans for c in chosen):
            return abstention(question)
        # The sentence holding the asked-for number, date or name; else the best one.
        best = next((c for c in chosen if c.spans), chosen[0])
        # The reader's span in the passages of the picked sentences, read whole; else the span
        # rules' in the best sentence; else the sentences themselves.
        read = None
        if self.reader is not None and kind not in ("number", "date"):
            chunks = reading([c.sentence for c in chosen])
            names = kind == "person" and any(c.spans for c in chosen)
            read = self._read(q, evidence, chunks, names)
        if read is not None:
            sentence, found = read
        else:
            sentence = best.sentence
            # Where the rules found a name for "who", a name answers, not an organ or a noun.
            named = best.spans and expected == PERSON
            found = best_span(
                q, sentence.text, best.spans, self.span_model, strict if named else typed
            )
            if found is None or found[2] < self.span_floor:
                return self._sentences(question, [(c.sentence, c.spans) for c in chosen])
        others = self._other_documents(q, ranked, best, typed)
        if others:
            picked = [(best.sentence, best.spans), *others]
            return _several(q, picked, self.span_model, typed)
        return self._compose(question, sentence, found)

    def _read(
        self, q: Question, evidence: Evidence, chunks: list[Chunk], names: bool
    ) -> tuple[Sentence, tuple[int, int, float]] | None:
        """The reader's best span in `chunks`, each read whole: (its sentence, the span's
        offsets in it, its probability). Where the span rules found the asked-for name or place
        in that sentence, the answer is the one the reader's span overlaps most: the rules know
        a name's extent, the reader which name. Otherwise the reader's span, widened to whole
        words and proper-noun runs (on two held-out quarters of the XQuAD-vi tune half, short F1
        0.455, against 0.424 when the reader read only the sentences where the rules found a
        name, and 0.420 when it read only the picked sentences). None (the rules answer) when the
        span overlaps no holder of the title asked about, or is not probable enough. Spans of
        another type than the question asks (rag.answertype) are passed over for the reader's
        next best; a span only compatible with a "who" question (an organ, a title) gives way
        to a name the rules found in its sentence."""
        asked, expected = set(q.folded_terms), q.expected
        reads = self.reader.read(
            q.text,
            [c.text for c in chunks],
            avoid=lambda text: echoes(asked, text) or agreement(expected, text) == NONE,
        )
        options = [(r, c) for r, c in zip(reads, chunks, strict=True) if r is not None]
        if not options:
            return None
        read, chunk = max(options, key=lambda o: o[0].score)
        if read.probability < self.reader_floor:
            return None
        where = chunk.start + read.start
        for candidate in evidence.candidates:
            s, spans = candidate.sentence, candidate.spans
            if s.chunk.doc_id != chunk.doc_id or not s.start <= where < s.end:
                continue
            a, b = where - s.start, min(chunk.start + read.end, s.end) - s.start
            overlap = [(min(b, y) - max(a, x), x, y) for x, y in spans if x < b and a < y]
            if overlap:
                _, a, b = max(overlap, key=lambda o: o[0])
            elif q.role:
                return None
            else:
                # underthesea's words may carry a mark ("2023."): none at the edges.
                a, b = whole_words(s.text, *whole_terms(s.text, a, b))
                level = agreement(expected, s.text[a:b])
                organ = bool(span_types(s.text[a:b]) & {ORGANIZATION, TITLE})
                if level == NONE or (level == WEAK and expected == PERSON and organ and names):
                    # Widened into another type, or an organ or a title for "who" while the
                    # rules found a name in the picked sentences: the rules answer.
                    return None
            if expected == PERSON and in_quotes(s.text, a, b):
                return None  # a name in a quoted title or slogan: the rules answer
            return s, (a, b, read.probability)
        return None

    def _other_documents(
        self, q: Question, ranked: Sequence[Candidate], best: Candidate, allowed
    ) -> list[tuple[Sentence, tuple]]:
        """Candidates of other articles (another title) scoring within CLOSE of the best one
        whose direct answer differs from its: the documents disagree, or each speaks of its
        own office, place or year, and picking one would hide the others."""
        first = best.sentence
        typed = q.kind in ("number", "date") or q.role
        found = best_span(q, first.text, best.spans, self.span_model, allowed)
        if found is None:
            return []
        answers = {_key(first.text[found[0] : found[1]])}
        titles = {first.chunk.title}
        out = []
        for c in ranked:
            s = c.sentence
            if len(out) + 1 >= MAX_LISTED or c.score < CLOSE * best.score:
                break
            if (
                s.chunk.title in titles
                or c.coverage < self.abstain_threshold
                or (typed and not c.spans)
            ):
                continue
            titles.add(s.chunk.title)
            other = best_span(q, s.text, c.spans, self.span_model, allowed)
            if other is not None and _key(s.text[other[0] : other[1]]) not in answers:
                answers.add(_key(s.text[other[0] : other[1]]))
                out.append((s, c.spans))
        return out

    def _second(self, evidence: Evidence, best: Candidate, typed: bool) -> Candidate | None:
        """A second sentence from the best one's article: its neighbour often holds what the
        best one leaves implicit. Near-duplicates (repeated captions) are skipped; when the
        question wants a number, date, person or place the best one lacks, a sentence that
        has one comes first."""
        best_sentence = best.sentence
        doc = best_sentence.chunk.doc_id
        best_terms = set(terms(best_sentence.text, folded=True))
        options = []
        for c in evidence.candidates:
            sentence = c.sentence
            if c.index == best.index or sentence.chunk.doc_id != doc:
                continue
            if jaccard(best_terms, set(terms(sentence.text, folded=True))) >= 0.6:
                continue
            near = (
                abs(sentence.start - best_sentence.end) < 3
                or abs(best_sentence.start - sentence.end) < 3
            )
            if typed and best.spans and not near:
                continue  # the answer is in hand: only its immediate context may join it
            bonus = (0.1 if near else 0.0) + (0.2 if typed and c.spans and not best.spans else 0.0)
            options.append((c.score + bonus, c))
        if not options:
            return None
        value, chosen = max(options, key=lambda o: (o[0], -o[1].index))
        # A best sentence that already holds the asked-for number, date or name needs company
        # only from an almost equally good neighbour.
        ratio = 0.8 if typed and best.spans else self.second_ratio
        return chosen if value >= ratio * best.score else None

    def _compose(self, question: str, sentence: Sentence, found: tuple[int, int, float]) -> Answer:
        """The direct answer first, then the clause of the sentence around it, both cited."""
        text = sentence.text
        a, b, _ = found
        short = text[a:b]
        span = (sentence.start + a, sentence.start + b)
        # The direct answer and its excerpt share one budget: a long answer gets less context.
        limit = max(SUPPORT_MIN_WORDS, self.answer_words - len(short.split()))
        cs, ce = support(text, (a, b), limit)
        shown = excerpt(text, cs, ce)
        if len(shown.split()) - len(short.split()) >= 3:
            body = f"{one_line(short)} [1] — {shown}"
        else:  # the span is (almost) the whole clause: saying it twice adds nothing
            body = f"{shown} [1]"
            short = short if short in shown else None
        citation = Citation.of(sentence.chunk, 1, sentence.start, sentence.end, True, span)
        return answered(question, body, (citation,), short)

    def _sentences(
        self, question: str, picked: list[tuple[Sentence, Sequence[tuple[int, int]]]]
    ) -> Answer:
        """1-2 sentences as the article says them (the clause holding the typed span of a long
        one): the answer when no direct answer is probable enough to stand first."""
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
        return answered(question, " ".join(parts), tuple(citations), span_text)


def reading(picked: list[Sentence]) -> list[Chunk]:
    """The passages the reader reads: those of the picked sentences, once each. (Reading the
    first retrieved passage as well changed nothing measurable on the XQuAD-vi tune half.)"""
    return list({s.chunk.chunk_id: s.chunk for s in picked}.values())


def echoes(asked: set[str], text: str) -> bool:
    """Whether `text` says nothing but words of the question (folded `asked`): "Điều lệ Đảng"
    does not answer "Ai cho biết … theo quy định của Điều lệ Đảng?". The reader then gives
    its next best span (on two held-out quarters of the XQuAD-vi tune half: short F1 0.459
    against 0.455; refusing such a span and letting the rules answer: 0.451)."""
    said = set(terms(text, folded=True))
    return not said or said <= asked


def whole_terms(text: str, start: int, end: int) -> tuple[int, int]:
    """[start, end) widened to whole underthesea words ("viên" to "sinh viên") and, at a
    proper noun, to the whole run of proper nouns it is part of ("Hãn" to "Hợp Tán Hãn"):
    proper nouns only a space apart (no comma or "và" between them)."""
    words = tagged(text)
    units: list[tuple[int, int]] = []
    for k, word in enumerate(words):
        joined = (
            k > 0
            and word.tag == words[k - 1].tag == "Np"
            and not text[words[k - 1].end : word.start].strip()
        )
        units.append((units.pop()[0], word.end) if joined else (word.start, word.end))
    for x, y in units:
        if x <= start < y:
            start = x
        if x < end <= y:
            end = y
    return start, end


def _key(span_text: str) -> str:
    return " ".join(fold(canonical(span_text)).lower().split())


def _source(chunk) -> str:
    """«title» (outlet, date) of a listed answer, as far as they are known."""
    meta = ", ".join(x for x in (chunk.outlet, chunk.date and display_date(chunk.date)) if x)
    return f"«{one_line(chunk.title)}»" + (f" ({meta})" if meta else "")


def _several(q: Question, picked: list, model: SpanModel | None, allowed) -> Answer:
    """One line per document: its direct answer, cited, and where it comes from (each line's
    answer was found of the asked type by `_other_documents`)."""
    lines, citations, shorts = [SEVERAL_HEAD], [], []
    for n, (sentence, typed) in enumerate(picked, 1):
        a, b, _ = best_span(q, sentence.text, typed, model, allowed)
        short = sentence.text[a:b]
        shorts.append(short)
        lines.append(f"- {one_line(short)} [{n}] — {_source(sentence.chunk)}")
        span = (sentence.start + a, sentence.start + b)
        citations.append(Citation.of(sentence.chunk, n, sentence.start, sentence.end, True, span))
    return answered(q.text, "\n".join(lines), tuple(citations), shorts[0])


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


# Clause marks a supporting excerpt may be cut at.
_CLAUSE_MARK = re.compile(r"[;:,]\s|\s[-–]\s|\s\((?=\w)|\)\s")


def support(text: str, span: tuple[int, int] | None, limit: int) -> tuple[int, int]:
    """The excerpt of `text` shown with a direct answer: the whole sentence when it has at most
    `limit` words; else the clause holding `span` grown by whole neighbouring clauses (the
    following one first) while it stays within `limit` words; a clause longer than that is cut
    to `limit` words around the span."""
    if len(text.split()) <= limit:
        return 0, len(text)
    a, b = span if span is not None else (0, 0)
    cuts = [0] + [m.end() for m in _CLAUSE_MARK.finditer(text)] + [len(text)]
    lo = max(c for c in cuts if c <= a)
    hi = min((c for c in cuts if c >= b and c > lo), default=len(text))

    def words(x: int, y: int) -> int:
        return len(text[x:y].split())

    if words(lo, hi) > limit:  # one long clause: a window of words around the span
        tokens = [m.span() for m in re.finditer(r"\S+", text)]
        inside = [k for k, (x, y) in enumerate(tokens) if y > a and x < max(b, a + 1)]
        first = max(0, inside[0] - (limit - len(inside)) // 2) if inside else 0
        last = min(len(tokens), first + limit) - 1
        return tokens[first][0], tokens[last][1]
    while True:
        right = min((c for c in cuts if c > hi), default=None)
        left = max((c for c in cuts if c < lo), default=None)
        if right is not None and words(lo, right) <= limit:
            hi = right
        elif left is not None and words(left, hi) <= limit:
            lo = left
        else:
            break
    while lo < hi and text[lo].isspace():
        lo += 1
    while hi > lo and text[hi - 1].isspace():
        hi -= 1
    return lo, hi


def excerpt(text: str, start: int, end: int) -> str:
    """`text[start:end]` shown on one line, with "…" where the sentence goes on."""
    piece = one_line(text[start:end]).strip(" ,;:–-(")
    if start > 0:
        piece = "… " + piece
    if text[end:].strip(" .!?…\"”'»)"):
        piece += " …"
    return piece


def answered(question: str, text: str, citations: tuple, short: str | None) -> Answer:
    """An extractive answer whose direct answer `short` (bold on the page) is in `text`."""
    return Answer(
        text=text,
        citations=citations,
        abstained=False,
        mode="extractive",
        question=question,
        standalone_question=question,
        span=short,
        short_answer=short,
    )
