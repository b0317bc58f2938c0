"""Summaries and comparisons made of the articles' own sentences.

In: the passages of one or more documents (a summary), or retrieved `Hit`s and a topic (a
comparison). Out: an `Answer`: for a summary, 3-5 central, non-redundant sentences (TextRank over
IDF-weighted word vectors, then maximal marginal relevance) in article order; for a comparison,
one line per document or named entity. Every sentence is cited.
Never rewrites a sentence: each one is a slice of the original file, with its offsets.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from rag.citations import ABSTAIN_TEXT
from rag.dates import display_date
from rag.phrases import Phrases
from rag.scoring import jaccard
from rag.sentences import Sentence, document_sentences
from rag.text import fold, word_tokens
from rag.types import Answer, Chunk, Citation, Hit

MIN_SENTENCES, MAX_SENTENCES = 3, 5
# A statement has a subject and a predicate; shorter lines are captions, bylines and headings.
MIN_WORDS = 8
# Longer sentences are lists run together; a summary line should be read at a glance.
MAX_WORDS = 60
# The similarity matrix grows with the square of the sentences compared (400: 1.3 MB).
MAX_POOL = 400
DAMPING = 0.85  # TextRank's (PageRank's) usual damping
MMR_LAMBDA = 0.7  # centrality against novelty when picking the next sentence


def _terms(text: str) -> list[str]:
    return [t for t in word_tokens(fold(text)) if not t.isdigit()]


def idf_vectors(texts: Sequence[str]) -> np.ndarray:
    """Unit-length TF-IDF rows of `texts` (IDF counted over the texts themselves)."""
    bags = [Counter(_terms(t)) for t in texts]
    vocab = {t: i for i, t in enumerate(sorted(set().union(*bags)))} if bags else {}
    df = Counter(t for bag in bags for t in bag)
    n = len(texts)
    rows = np.zeros((n, len(vocab)))
    for i, bag in enumerate(bags):
        for t, tf in bag.items():
            rows[i, vocab[t]] = (1 + math.log(tf)) * math.log((n + 1) / (df[t] + 0.5))
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return rows / np.where(norms > 0, norms, 1)


def textrank(similarity: np.ndarray, prior: np.ndarray | None = None) -> np.ndarray:
    """PageRank scores of the weighted sentence graph (no self-loops), summing to 1. `prior`
    weighs where the random surfer jumps (personalised PageRank); uniform by default."""
    n = len(similarity)
    jump = np.full(n, 1 / n) if prior is None else prior / prior.sum()
    weights = similarity * (1 - np.eye(n))
    out = weights.sum(axis=1, keepdims=True)
    transition = np.where(out > 0, weights / np.where(out > 0, out, 1), 1 / n)
    scores = np.full(n, 1 / n)
    for _ in range(100):
        updated = (1 - DAMPING) * jump + DAMPING * transition.T @ scores
        if np.abs(updated - scores).sum() < 1e-9:
            return updated
        scores = updated
    return scores


# A sentence that opens with one of these leans on the one before it ("Đó là quyết tâm …",
# "Bên cạnh đó, …"): a summary line must stand on its own.
_LEANING = Phrases(
    r"^\W*(?:chính )?(?:bên cạnh đó|đồng thời|cùng với đó|ngoài ra|trong đó|theo đó|qua đó|"
    r"từ đó|nhờ đó|do đó|vì vậy|vì thế|bởi vậy|tuy nhiên|song(?=\s*,)|mặt khác|hơn nữa|thêm vào đó|"
    r"như vậy|đó là|điều này|việc này|cụ thể)(?!\w)"
)
# Near-repeats (shared words, Jaccard) inside one article are a photo's caption and its alt text.
REPEAT_JACCARD = 0.6


def _stands_alone(sentence: Sentence, others: Sequence[Sentence]) -> bool:
    """A statement fit for a summary: it does not lean on the sentence before it, is not cut
    off ("…" or "..." at its end: the article's own ellipsis) and is not a caption repeated
    elsewhere in the article (news pages print a photo's caption twice or thrice)."""
    text = sentence.text.strip()
    if _LEANING.search(text) or text.endswith(("...", "…")) or _caption(sentence):
        return False
    words = _bag(text)
    return not any(
        o is not sentence and jaccard(words, _bag(o.text)) >= REPEAT_JACCARD for o in others
    )


@lru_cache(maxsize=8192)
def _bag(text: str) -> frozenset[str]:
    """A sentence's words, once: each is compared with every other statement of its article."""
    return frozenset(_terms(text))


# A paragraph of one short sentence, not the article's first, is a photo's caption: a news
# article's body paragraphs are longer or hold several sentences.
CAPTION_WORDS = 30


def _caption(sentence: Sentence) -> bool:
    chunk = sentence.chunk
    if chunk is None or len(sentence.text.split()) >= CAPTION_WORDS:
        return False
    at, end = sentence.start - chunk.start, sentence.end - chunk.start
    before, after = chunk.text[:at], chunk.text[end:]
    alone = before.rstrip(" \t").endswith("\n") and after.lstrip(" \t")[:1] in ("", "\n")
    return alone and (bool(before.strip()) or chunk.index > 0)


def _once(sentences: Sequence[Sentence]) -> list[Sentence]:
    """A sentence said twice word for word is one statement: its first place counts."""
    seen: set[str] = set()
    out = []
    for s in sentences:
        key = " ".join(s.text.split())
        if key not in seen:
            seen.add(key)
            out.append(s)
    return out


def central_sentences(sentences: Sequence[Sentence], k: int | None = None) -> list[Sentence]:
    """The k most central sentences that do not repeat each other, in article order.

    k defaults to one per ten statements, kept within 3-5. Statements that stand alone
    (`_stands_alone`) are preferred while there are k of them. Centrality is TextRank whose
    random jumps favour the article's opening sentences (PositionRank's position prior: a
    news article puts what matters first)."""
    statements = [s for s in sentences if len(s.text.split()) >= MIN_WORDS] or list(sentences)
    if not statements:
        return []
    if k is None:
        k = min(MAX_SENTENCES, max(MIN_SENTENCES, round(len(statements) / 10)))
    pool = [s for s in statements if len(s.text.split()) <= MAX_WORDS]
    if len(pool) < k:
        pool = statements
    pool = _once(pool)
    if len(pool) <= MAX_POOL:
        alone = [s for s in pool if _stands_alone(s, statements)]
        pool = alone if len(alone) >= k else pool
    if len(pool) > MAX_POOL:  # a book, not an article: every part still gets its say
        step = len(pool) / MAX_POOL
        pool = [pool[int(i * step)] for i in range(MAX_POOL)]
    vectors = idf_vectors([s.text for s in pool])
    similarity = np.clip(vectors @ vectors.T, 0, 1)
    centrality = textrank(similarity, 1 / np.arange(1, len(pool) + 1))
    centrality = centrality / centrality.max()
    picked: list[int] = []
    while len(picked) < min(k, len(pool)):
        redundancy = similarity[:, picked].max(axis=1) if picked else np.zeros(len(pool))
        score = MMR_LAMBDA * centrality - (1 - MMR_LAMBDA) * redundancy
        score[picked] = -np.inf
        picked.append(int(np.argmax(score)))
    return sorted((pool[i] for i in picked), key=lambda s: (s.chunk.doc_id, s.start))


def summarize(documents: Sequence[Sequence[Chunk]]) -> Answer:
    """A cited summary of the documents (each a list of its passages), in the given order:
    3-5 sentences of one document, or an even share of five among several (at least one)."""
    lines: list[str] = []
    cites: list[Citation] = []
    several = len(documents) > 1
    k = max(1, MAX_SENTENCES // len(documents)) if several else None
    for chunks in documents:
        chosen = central_sentences(document_sentences(chunks), k)
        if not chosen:
            continue
        head = f"«{chunks[0].title}»{_source(chunks[0])}"
        lines.append(f"**{head}**:" if several else f"Tóm tắt {head}:")
        for s in chosen:
            n = len(cites) + 1
            cites.append(Citation.of(s.chunk, n, s.start, s.end, supported=True))
            lines.append(f"- {s.text} [{n}]")
    if not cites:
        return Answer(ABSTAIN_TEXT, (), abstained=True, mode="extractive")
    return Answer("\n".join(lines), tuple(cites), abstained=False, mode="extractive")


def _source(chunk: Chunk) -> str:
    parts = [p for p in (chunk.outlet, display_date(chunk.date)) if p]
    return f" ({', '.join(parts)})" if parts else ""


# --- comparisons -----------------------------------------------------------------------------

MAX_COMPARED = 5
_AND = re.compile(r"\s+(?:và|với|so với|hay|hoặc|va|voi|so voi|hoac|and|or|vs\.?)\s+")
_COMMA = re.compile(r"\s*,\s*")
_TALK = frozenset(
    fold(w)
    for w in "các những bài viết báo tài liệu văn bản trong giữa của về thế nào ra sao như thế "
    "nào điểm gì có là".split()
)


def compared_entities(topic: str, written: str = "") -> tuple[str, list[str]]:
    """(shared context, entities) of "A và B", "A, B và C": the last entity sets the length of
    the one before "và", and what precedes that is said of all ("kết nạp đảng viên năm 2020 và
    năm 2021": context "kết nạp đảng viên", entities "năm 2020", "năm 2021"). Only a comma or
    one "và" separates: the last one that `written` (the compared documents' text, folded
    lowercase) does not write between the same two words, so a name that holds "và" ("Cơ
    quan và Doanh nghiệp") stays whole."""
    parts = [p.strip() for p in _COMMA.split(topic) if p.strip()]
    if not parts:
        return "", []
    cut = list(_AND.finditer(parts[-1]))
    if cut:
        last = parts.pop()
        free = [m for m in cut if not _written_and(last, m, written)]
        at = (free or cut)[-1]
        parts += [last[: at.start()], last[at.end() :]]
    entities = [p for p in parts if [w for w in _terms(p) if w not in _TALK]]
    if len(entities) < 2:
        return topic, []
    width = len(entities[-1].split())
    first = entities[0].split()
    if len(entities) == 2 and len(first) > width:
        return " ".join(first[:-width]), [" ".join(first[-width:]), entities[1]]
    return "", entities


def _written_and(text: str, m: re.Match, written: str) -> bool:
    """Whether the documents write the "và" at `m` between the same two words: it then
    belongs to a name ("Doanh nghiệp tỉnh" after "Cơ quan và"), not to the comparison."""
    before = re.findall(r"\w+", fold(text[: m.start()]).lower())[-1:]
    after = re.findall(r"\w+", fold(text[m.end() :]).lower())[:1]
    joint = fold(m.group()).lower().strip()
    return bool(written and before and after) and f" {before[0]} {joint} {after[0]} " in written


def compare(topic: str, hits: Sequence[Hit], documents: dict[str, Sequence[Chunk]]) -> Answer:
    """One cited line per entity named in `topic` ("A và B"): the sentence that holds all its
    words and most of its weight, or that it is not found. Else one line per document among
    the hits (first five, in rank order): its sentence closest to the topic, or its most
    central sentence when the topic names nothing but the documents. `documents` holds each
    hit document's passages: the best sentence need not be in a retrieved passage."""
    words = [w for w in _terms(topic) if w not in _TALK]
    order = list(dict.fromkeys(h.chunk.doc_id for h in hits))[:MAX_COMPARED]
    sentences = [s for doc_id in order for s in document_sentences(documents[doc_id])]
    lines: list[str] = []
    cites: list[Citation] = []
    written = " " + " ".join(" ".join(re.findall(r"\w+", fold(s.text).lower())) for s in sentences)
    context, entities = compared_entities(topic, written + " ")
    used: set[tuple[str, int]] = set()  # one sentence is quoted once, for one entity
    if len(entities) >= 2:
        for entity in entities[:MAX_COMPARED]:
            # A name or a year is found only where all of it is written, not one word of it.
            needed = set(word_tokens(fold(entity))) - _TALK
            holding = [
                s
                for s in sentences
                if needed <= set(word_tokens(fold(s.text)))
                and (s.chunk.doc_id, s.start) not in used
            ]
            best = _closest(f"{context} {entity}", holding)
            if best is not None:
                used.add((best.chunk.doc_id, best.start))
                # The line is labelled with the entity: its clause says what the context asks.
                best = (
                    _clause(best, _head(context), set(), sentences)
                    if context
                    else _clause(best, entity, needed, sentences)
                )
            if best is None:
                lines.append(f"- {entity.strip()}: không tìm thấy trong tài liệu.")
                continue
            n = len(cites) + 1
            cites.append(Citation.of(best.chunk, n, best.start, best.end, supported=True))
            lines.append(f"- {entity.strip()}: {best.text} [{n}]")
    else:
        for doc_id in order:
            own = document_sentences(documents[doc_id])
            best = (
                _closest(" ".join(words), own)
                if words
                else next(iter(central_sentences(own, 1)), None)
            )
            if best is None:
                continue
            if words:
                best = _clause(best, " ".join(words), set(), sentences)
            n = len(cites) + 1
            cites.append(Citation.of(best.chunk, n, best.start, best.end, supported=True))
            lines.append(f"- «{best.chunk.title}»{_source(best.chunk)}: {best.text} [{n}]")
    if not cites:
        return Answer(ABSTAIN_TEXT, (), abstained=True, mode="extractive")
    return Answer("\n".join(lines), tuple(cites), abstained=False, mode="extractive")


_OF = re.compile(r"\s+(?:của|cua)\s+")


def _head(phrase: str) -> str:
    """What a noun phrase names, before its owner: "kết nạp đảng viên của Đảng bộ Khối" ->
    "kết nạp đảng viên" (the owner is what every compared sentence shares)."""
    return _OF.split(phrase, maxsplit=1)[0]


_CLAUSE_END = re.compile(r"[;:](?=\s)")
# A clause shorter than this is a label ("cho biết:"), not a statement to quote alone.
MIN_CLAUSE_WORDS = 6


def _clause(
    sentence: Sentence, query: str, needed: set[str], background: Sequence[Sentence]
) -> Sentence:
    """The clause of `sentence` (cut at ";" and ":") that says what the query asks, when one
    holds it all: a comparison line quotes that, not the run-on sentence around it. Word
    weights come from `background`, where a name every sentence repeats weighs little."""
    marks = list(_CLAUSE_END.finditer(sentence.text))
    if not marks:
        return sentence
    starts = [0] + [m.end() for m in marks]
    ends = [m.start() for m in marks] + [len(sentence.text)]
    clauses = []
    for a, b in zip(starts, ends, strict=True):
        text = sentence.text[a:b]
        lead = len(text) - len(text.lstrip())
        text = text.strip()
        if len(text.split()) >= MIN_CLAUSE_WORDS and needed <= set(word_tokens(fold(text))):
            start = sentence.start + a + lead
            clauses.append(Sentence(sentence.chunk, start, start + len(text), text))
    return _closest(query, clauses, background) or sentence


def _closest(
    query: str, sentences: Sequence[Sentence], background: Sequence[Sentence] = ()
) -> Sentence | None:
    """The sentence holding the largest IDF-weighted share of the query's words (IDF over
    `background`, else over `sentences`), with its adjacent word pairs counting a quarter
    (ties: the shorter sentence, which says it more directly); None when none holds any word."""
    terms = list(dict.fromkeys(_terms(query)))
    if not sentences or not terms:
        return None
    bags = [set(_terms(s.text)) for s in sentences]
    pool = [set(_terms(s.text)) for s in background] if background else bags
    n = len(pool)
    idf = {t: math.log((n + 1) / (sum(t in b for b in pool) + 0.5)) for t in terms}
    total = sum(idf.values()) or 1.0
    pairs = set(zip(terms, terms[1:], strict=False))
    best, best_key = None, (0.0, 0)
    for s, bag in zip(sentences, bags, strict=True):
        share = sum(w for t, w in idf.items() if t in bag) / total
        if share <= 0:
            continue
        if pairs:
            tokens = _terms(s.text)
            found = len(pairs & set(zip(tokens, tokens[1:], strict=False))) / len(pairs)
            share = 0.75 * share + 0.25 * found
        key = (round(share, 9), -len(s.text))
        if best is None or key > best_key:
            best, best_key = s, key
    return best


__all__ = ["central_sentences", "compare", "summarize"]
