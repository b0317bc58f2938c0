"""The extractive answerer: the direct answer first, cut from the article's own words.

In: a standalone question and the retrieved `Hit`s (and, when a real embedding model runs, a
question-sentence cosine). Out: an `Answer` whose first words are the short answer (a name, a
number with its unit, a date, a place, a phrase or a reason clause; `short_answer`, bold in the
page) with its citation, then one supporting clause of the same sentence; a list as cited
bullets; "Có"/"Không" with evidence; each of several differing answers from several documents
with where it comes from. Sentences and spans are ranked by two small logistic models
(`extractive_weights.json`, trained by `python -m eval train-answerer`); the answer is withheld
when the best sentence's probability is below a calibrated threshold.
Never rewrites quoted text: every shown piece is a slice of the original article.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from rag.answer import Answer, Citation, abstention
from rag.question import TYPED, Asked, analyse, terms
from rag.retrieval import Hit
from rag.scoring import Overlap, flat_idf, logistic
from rag.text import canonical, fold, split_sentences

WEIGHTS_FILE = Path(__file__).with_name("extractive_weights.json")

Similarity = Callable[[str, list[str]], list[float]]

# At most this many words in the supporting clause shown after the short answer.
SUPPORT_WORDS = 26
# A short answer longer than this is a clause, not a phrase: it is shown without support.
SHORT_WORDS = 20
# Another document's answer is listed beside the best one when its sentence and span are at
# least this share as probable (the passage rank alone halves a sentence's probability).
AGREE = 0.5
# Spans are runs of at most this many words (pyvi/underthesea words, not syllables).
SPAN_WORDS = 10


# ---------------------------------------------------------------------------------------------
# Sentences


@dataclass(frozen=True)
class Sentence:
    hit: Hit
    start: int  # offsets in the file
    end: int
    text: str


def candidate_sentences(hits: Sequence[Hit]) -> list[Sentence]:
    """Every sentence of the retrieved passages once, in rank order."""
    seen: set[tuple[str, int]] = set()
    out: list[Sentence] = []
    for hit in hits:
        chunk = hit.chunk
        for s, e in split_sentences(chunk.text):
            key = (chunk.doc_id, chunk.start + s)
            if key in seen:
                continue
            seen.add(key)
            out.append(Sentence(hit, chunk.start + s, chunk.start + e, chunk.text[s:e]))
    return out


# ---------------------------------------------------------------------------------------------
# Words with offsets (underthesea POS: Np proper noun, M numeral, N noun, V verb, E preposition,
# C conjunction, CH punctuation)


@dataclass(frozen=True)
class Word:
    start: int  # offsets in the sentence
    end: int
    tag: str
    folded: str  # lowercase, no diacritics


@lru_cache(maxsize=4096)
def tagged(sentence: str) -> tuple[Word, ...]:
    """The sentence's words with their POS tags and offsets into it."""
    from underthesea.pipeline.pos_tag import pos_tag

    words: list[Word] = []
    pos = 0
    for token, tag in pos_tag(sentence):
        start = end = -1
        for syllable in token.split():
            at = sentence.find(syllable, pos)
            if at < 0:
                break
            if start < 0:
                start = at
            end = pos = at + len(syllable)
        if start >= 0:
            words.append(Word(start, end, tag, fold(canonical(sentence[start:end]))))
    return tuple(words)


_NUMBER_WORDS = frozenset(
    fold(w)
    for w in "một hai ba bốn năm sáu bảy tám chín mười mươi trăm nghìn ngàn vạn triệu tỷ tỉ "
    "chục nửa rưỡi".split()
)
_DIGIT = re.compile(r"\d")
_DATE = re.compile(
    r"(?<![\d/-])\d{1,2}[/-]\d{1,2}(?:[/-]\d{2,4})?(?![\d/-])"
    r"|tháng\s+\d{1,2}|năm\s+\d{3,4}|thế k[ỷỉ]\s+\w+|(?<!\d)(?:1\d|20)\d{2}(?!\d)",
    re.IGNORECASE,
)
_YEAR = re.compile(r"(?<!\d)(?:1\d|20)\d{2}(?!\d)")
_PLACE_WORDS = frozenset(
    fold(w)
    for w in "tại ở trong từ đến tới vào khắp thành phố tỉnh huyện quận xã nước quốc gia vùng "
    "miền bang thủ đô".split()
)
_REASON = ("vi", "do", "boi", "nho", "de", "tai vi", "boi vi", "nham", "nen")
_MANNER = ("bang", "thong qua", "qua", "nho", "bang cach", "theo", "voi")
_NEGATION = frozenset("khong chua chang cha khong he".split())
# Words a span should not begin or end with: they attach it to its neighbours.
_EDGE_TAGS = frozenset(("E", "C", "CC", "CH", "R", "T"))


def _number_like(word: Word) -> bool:
    return word.tag == "M" or bool(_DIGIT.search(word.folded)) or word.folded in _NUMBER_WORDS


# ---------------------------------------------------------------------------------------------
# Features (names say what each one measures; the weights are learned)

SENTENCE_FEATURES = (
    "coverage",  # share of the question's IDF weight in the sentence
    "coverage_gap",  # how far below the best candidate's coverage
    "dense",  # cosine of question and sentence (0 without a real model)
    "dense_gap",
    "inverse_rank",  # 1 / rank of the passage
    "typed_span",  # the question wants a number/date/name/place and the sentence has one
    "typed_missing",  # it wants one and the sentence has none
    "numbers_disagree",  # the question names a number the passage never says
    "role_missing",  # "Ai là <office>?" and the sentence lacks that office as written
    "log_words",
)

SPAN_FEATURES = (
    "in_question",  # share of the span's words that the question has
    "len1",
    "len2_3",
    "len4_6",
    "len7",
    "near",  # 1 / (1 + words to the nearest question word in the sentence)
    "after_question_word",
    "before_question_word",
    "after_la",  # "X là <span>": a definition or an identity
    "after_preposition",
    "type_match",
    "type_mismatch",
    "grain_match",  # "năm nào" and a year, "ngày nào" and a day
    "unit_match",  # "bao nhiêu chi bộ" and "594 chi bộ"
    "proper",  # share of Np words
    "numeral",  # has a numeral
    "first_noun",
    "first_verb",
    "first_edge",  # begins with a preposition, conjunction or particle
    "last_noun",
    "last_edge",
    "reason_marker",  # a why-question and the span opens with vì/do/để/nhờ...
    "manner_marker",  # a how-question and the span opens with bằng/qua/nhờ...
    "clause_share",  # share of the question's words in the span's clause
    "enumeration",  # commas or "và" inside
    "sentence_end",  # the span reaches the end of its clause
    "what_kind",
    "reason_kind",
    # Boundaries: an answer is rarely cut out of the middle of a noun phrase.
    "prev_noun",
    "prev_verb",
    "next_noun",
    "next_verb",
    "next_preposition",
    "next_punctuation",
    "several_numbers",  # a count question and a span holding two numbers: two answers in one
)


_UNIT_MATCH = SPAN_FEATURES.index("unit_match")


@dataclass(frozen=True)
class Model:
    names: tuple[str, ...]
    weights: tuple[float, ...]
    bias: float

    def __call__(self, row: Sequence[float]) -> float:
        return logistic(self.weights, self.bias, row)

    @classmethod
    def of(cls, spec: dict, names: tuple[str, ...]) -> Model:
        if tuple(spec["names"]) != names:
            raise ValueError("extractive_weights.json does not match the features: retrain it")
        return cls(names, tuple(spec["weights"]), spec["bias"])


@dataclass(frozen=True)
class Weights:
    """The trained models: sentence (with and without a dense model), span, and thresholds."""

    sentence_dense: Model
    sentence_lexical: Model
    span: Model
    threshold_dense: float
    threshold_lexical: float

    @classmethod
    def load(cls, path: Path = WEIGHTS_FILE) -> Weights:
        spec = json.loads(path.read_text("utf-8"))
        return cls(
            Model.of(spec["sentence_dense"], SENTENCE_FEATURES),
            Model.of(spec["sentence_lexical"], SENTENCE_FEATURES),
            Model.of(spec["span"], SPAN_FEATURES),
            spec["threshold_dense"],
            spec["threshold_lexical"],
        )


@lru_cache(maxsize=1)
def default_weights() -> Weights:
    return Weights.load()


_QUESTION_NUMBER = re.compile(r"(?<![\w/-])\d+(?:[.,]\d+)*(?![\w/])")


def _around(sentence: Sentence, reach: int = 150) -> str:
    """The sentence with a little of its passage on each side."""
    chunk = sentence.hit.chunk
    start = max(0, sentence.start - chunk.start - reach)
    return chunk.text[start : sentence.end - chunk.start + reach]


def numbers_agree(question: str, passage: str) -> bool:
    """A question about 2022 is not answered by a passage that never says 2022 (when it gives
    several numbers, one found is enough: "from 2000 to 2005 against five years before")."""
    asked = _QUESTION_NUMBER.findall(question)
    found = set(re.findall(r"\d+(?:[.,]\d+)*", passage))
    return not asked or any(n in found for n in asked)


def role_matches(role: Sequence[str], sentence: str) -> bool:
    """'Ai là Bí thư Thành ủy?' is not answered by 'Bí thư Đảng uỷ Khối …': the title must
    stand in the sentence as written, pair of words by pair of words."""
    have = terms(sentence, folded=True)
    pairs = set(zip(have, have[1:], strict=False))
    return all(pair in pairs for pair in zip(role, role[1:], strict=False))


@dataclass(frozen=True)
class Span:
    start: int  # offsets in the sentence
    end: int
    features: tuple[float, ...]


def _question_words(asked: Asked) -> frozenset[str]:
    """The question's content words, folded, as syllables (underthesea joins them into words)."""
    return frozenset(s for t in terms(asked.text, folded=True) for s in t.split())


def spans(asked: Asked, sentence: str, question_words: frozenset[str] | None = None) -> list[Span]:
    """Every run of up to SPAN_WORDS words that does not cross punctuation, with its features."""
    words = tagged(sentence)
    qwords = question_words if question_words is not None else _question_words(asked)
    is_q = [all(s in qwords for s in w.folded.split()) and w.tag != "CH" for w in words]
    anchors = [i for i, q in enumerate(is_q) if q]
    from rag.question import date_grain  # cheap; kept here to avoid a cycle of names

    grain = date_grain(asked.text) if asked.kind == "date" else None
    breaks = [i for i, w in enumerate(words) if w.tag == "CH" and w.folded in ",;:()-–"]
    total_q = max(len(qwords), 1)
    out: list[Span] = []
    n = len(words)
    for i in range(n):
        if words[i].tag == "CH":
            continue
        for j in range(i, min(n, i + SPAN_WORDS)):
            if words[j].tag == "CH" and words[j].folded not in ",%":
                break
            if words[j].tag == "CH":
                continue
            out.append(
                Span(
                    words[i].start,
                    words[j].end,
                    _span_row(asked, sentence, words, is_q, anchors, breaks, i, j, grain, total_q),
                )
            )
    return out


def _span_row(asked, sentence, words, is_q, anchors, breaks, i, j, grain, total_q):
    span_words = words[i : j + 1]
    content = [w for w in span_words if w.tag != "CH"]
    length = len(content)
    in_q = sum(is_q[i : j + 1]) / max(length, 1)
    distance = min(
        (min(abs(a - i), abs(a - j)) for a in anchors if a < i or a > j), default=len(words)
    )
    text = sentence[words[i].start : words[j].end]
    kind = asked.kind
    numeral = any(_number_like(w) for w in content)
    proper = sum(w.tag == "Np" for w in content) / max(length, 1)
    if kind == "number":
        match = numeral and not _YEAR.fullmatch(text.strip())
    elif kind == "date":
        match = bool(_DATE.search(text))
    elif kind == "person":
        match = words[i].tag == "Np"
    elif kind == "place":
        match = proper > 0 and (i == 0 or words[i - 1].folded in _PLACE_WORDS or proper == 1)
    else:
        match = False
    typed = kind in TYPED
    unit = 0.0
    last_word = span_words[-1]
    if asked.unit and numeral:
        # The counted thing right after the number: the span ends with the unit ("594 chi
        # bộ") or with the number just before it ("594" in "594 chi bộ").
        after = " ".join(w.folded for w in words[j + 1 : j + 3])
        inside = " ".join(w.folded for w in span_words)
        want = " ".join(asked.unit[:2])
        ends_with_unit = inside.endswith(want) and any(
            _number_like(w) for w in span_words[-1 - len(want.split()) : -1]
        )
        unit = float(ends_with_unit or (_number_like(last_word) and after.startswith(want)))
    lo = max((b for b in breaks if b < i), default=-1)
    hi = min((b for b in breaks if b > j), default=len(words))
    clause_q = sum(is_q[lo + 1 : hi]) / total_q
    first, last = span_words[0], span_words[-1]
    head = " ".join(w.folded for w in span_words[:2])
    prev = words[i - 1] if i > 0 else None
    nxt = words[j + 1] if j + 1 < len(words) else None
    return (
        in_q,
        float(length == 1),
        float(2 <= length <= 3),
        float(4 <= length <= 6),
        float(length >= 7),
        1.0 / (1.0 + distance),
        float(prev is not None and is_q[i - 1]),
        float(nxt is not None and is_q[j + 1]),
        float(prev is not None and prev.folded == "la"),
        float(prev is not None and prev.tag == "E"),
        float(match),
        float(typed and not match),
        float(grain is not None and bool(grain.search(text))),
        unit,
        proper,
        float(numeral),
        float(first.tag in ("N", "Np", "Nc", "M", "L")),
        float(first.tag == "V"),
        float(first.tag in _EDGE_TAGS),
        float(last.tag in ("N", "Np", "M")),
        float(last.tag in _EDGE_TAGS),
        float(kind == "reason" and head.startswith(_REASON)),
        float(kind == "manner" and head.startswith(_MANNER)),
        clause_q,
        float("," in text or " và " in text or " hoặc " in text),
        float(nxt is None or nxt.tag == "CH"),
        float(kind in ("what", "list", None)),
        float(kind in ("reason", "manner")),
        float(prev is not None and prev.tag in ("N", "Np", "M", "A")),
        float(prev is not None and prev.tag == "V"),
        float(nxt is not None and nxt.tag in ("N", "Np", "M", "A")),
        float(nxt is not None and nxt.tag == "V"),
        float(nxt is not None and nxt.tag == "E"),
        float(nxt is not None and nxt.tag == "CH"),
        float(kind == "number" and sum(_number_like(w) for w in content) > 1),
    )


# ---------------------------------------------------------------------------------------------
# The answerer


@dataclass(frozen=True)
class Scored:
    """A candidate sentence with its probability of holding the answer and its best span."""

    sentence: Sentence
    p: float
    span: tuple[int, int] | None  # offsets in the sentence
    span_p: float


class ExtractiveAnswerer:
    """The direct answer from the retrieved passages, or an abstention."""

    def __init__(
        self,
        idf: Callable[[str], float] = flat_idf,
        similarity: Similarity | None = None,
        weights: Weights | None = None,
        threshold: float | None = None,
        span_sentences: int = 3,
    ):
        self.idf = idf
        self.similarity = similarity  # dense question-sentence cosine, when a real model runs
        self.weights = weights or default_weights()
        dense = similarity is not None
        self.sentence_model = (
            self.weights.sentence_dense if dense else self.weights.sentence_lexical
        )
        if threshold is None:
            threshold = self.weights.threshold_dense if dense else self.weights.threshold_lexical
        self.threshold = threshold
        self.span_sentences = span_sentences

    # -- features -----------------------------------------------------------------------------
    def sentence_rows(self, asked: Asked, sentences: Sequence[Sentence]) -> list[tuple[float, ...]]:
        overlap = Overlap(asked.text, self.idf)
        coverage = [overlap(s.text) for s in sentences]
        dense = (
            self.similarity(asked.text, [s.text for s in sentences])
            if self.similarity and sentences
            else [0.0] * len(sentences)
        )
        best_cov, best_dense = max(coverage, default=0.0), max(dense, default=0.0)
        rows = []
        for s, cov, cos in zip(sentences, coverage, dense, strict=True):
            typed = asked.typed and _has_type(asked, s.text)
            rows.append(
                (
                    cov,
                    best_cov - cov,
                    cos,
                    best_dense - cos,
                    1.0 / s.hit.rank,
                    float(typed),
                    float(asked.typed and not typed),
                    float(not numbers_agree(asked.text, _around(s))),
                    float(asked.role is not None and not role_matches(asked.role, s.text)),
                    math.log1p(len(s.text.split())),
                )
            )
        return rows

    # -- answering ----------------------------------------------------------------------------
    def rank(self, question: str, hits: Sequence[Hit]) -> tuple[Asked, list[Scored]]:
        """Candidate sentences best first, the first few with their best span."""
        asked = analyse(question)
        sentences = candidate_sentences(hits)
        rows = self.sentence_rows(asked, sentences)
        probs = [self.sentence_model(r) for r in rows]
        order = sorted(range(len(sentences)), key=lambda i: (-probs[i], i))
        qwords = _question_words(asked)
        scored = []
        for rank, i in enumerate(order):
            span, span_p = None, 0.0
            if rank < self.span_sentences:
                found = spans(asked, sentences[i].text, qwords)
                # "bao nhiêu chi bộ": a number of something else does not answer it.
                counted = [sp for sp in found if sp.features[_UNIT_MATCH]]
                if asked.kind == "person":  # "Ai ...?": a name, if the sentence has one
                    counted = [
                        sp for sp in found if _name_like(sentences[i].text[sp.start : sp.end])
                    ]
                best = max(
                    counted or found,
                    key=lambda sp: self.weights.span(sp.features),
                    default=None,
                )
                if best is not None:
                    start = best.start
                    if asked.kind == "person":
                        start = _surname_start(sentences[i].text, best.start)
                    span, span_p = (start, best.end), self.weights.span(best.features)
            scored.append(Scored(sentences[i], probs[i], span, span_p))
        return asked, scored

    def answer(self, question: str, hits: Sequence[Hit]) -> Answer:
        asked, scored = self.rank(question, hits)
        if not scored or scored[0].p < self.threshold:
            return abstention(question)
        best = scored[0]
        if asked.kind == "list":
            items = _enumeration(best.sentence.text, best.span)
            if len(items) >= 2:
                return _bullets(question, best.sentence, items)
        if asked.kind == "yesno":
            return _yes_no(question, asked, best)
        others = _differing(asked, scored, self.threshold)
        if others:
            return _several(question, [best, *others])
        return _direct(question, best)


_NUMBER = re.compile(
    r"\d|(?<!\w)(?:" + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True)) + r")(?!\w)"
)


def _surname_start(text: str, start: int) -> int:
    """A name reaches back over the capitalised surnames just before it ("Lỳ" in "Lỳ Lỳ Xá",
    "Bùi" in "Bùi Võ Quảng"): the tagger sometimes leaves one out."""
    while True:
        m = re.search(r"(\w+)\s+$", text[:start])
        if not m or not m.group(1)[:1].isupper() or fold(canonical(m.group(1))) not in SURNAMES:
            return start
        start = m.start(1)


def _name_like(text: str) -> bool:
    """Two or more syllables, each capitalised ("Lê Minh Đức", "Paul Samuelson")."""
    syllables = text.split()
    return len(syllables) >= 2 and all(s[:1].isupper() and s[:1].isalpha() for s in syllables)


def _has_type(asked: Asked, sentence: str) -> bool:
    if asked.kind == "number":
        return bool(_NUMBER.search(_YEAR.sub(" ", fold(sentence).lower())))
    if asked.kind == "date":
        return bool(_DATE.search(sentence))
    return any(w.tag == "Np" for w in tagged(sentence))


def _differing(asked: Asked, scored: list[Scored], threshold: float) -> list[Scored]:
    """Near-equally good candidates from other documents whose answer differs from the best
    one's: a typed question answered differently in different articles."""
    best = scored[0]
    if not asked.typed or best.span is None:
        return []
    seen = {best.sentence.hit.chunk.doc_id}
    answers = {_key(best)}
    out = []
    for item in scored[1:]:
        doc = item.sentence.hit.chunk.doc_id
        if item.span is None or doc in seen:
            continue
        if item.p < max(threshold, AGREE * best.p) or item.span_p < AGREE * best.span_p:
            continue
        seen.add(doc)
        if _key(item) not in answers:
            answers.add(_key(item))
            out.append(item)
    return out


def _key(item: Scored) -> str:
    s, e = item.span
    return " ".join(fold(canonical(item.sentence.text[s:e])).split())


def _support(text: str, span: tuple[int, int]) -> tuple[int, int]:
    """The clause around the span, at most SUPPORT_WORDS words, grown on both sides."""
    tokens = [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]
    inside = [k for k, (a, b) in enumerate(tokens) if b > span[0] and a < span[1]]
    if not inside:
        return 0, len(text)
    lo, hi = inside[0], inside[-1]
    while hi - lo + 1 < SUPPORT_WORDS:
        grew = False
        if lo > 0 and not text[tokens[lo - 1][0] : tokens[lo - 1][1]].endswith((";", ".")):
            lo -= 1
            grew = True
        if (
            hi - lo + 1 < SUPPORT_WORDS
            and hi + 1 < len(tokens)
            and not text[tokens[hi][0] : tokens[hi][1]].endswith(";")
        ):
            hi += 1
            grew = True
        if not grew:
            break
    return tokens[lo][0], tokens[hi][1]


def _shown(text: str, start: int, end: int) -> str:
    piece = " ".join(text[start:end].split()).strip(" ,;:")
    if start > 0:
        piece = "… " + piece
    if text[end:].strip(" .!?…\"”'»)"):
        piece += " …"
    return piece


def _direct(question: str, item: Scored) -> Answer:
    sentence = item.sentence
    citation_span = None
    if item.span is None:
        return _sentence_only(question, item)
    s, e = item.span
    short = " ".join(sentence.text[s:e].split())
    citation_span = (sentence.start + s, sentence.start + e)
    text = f"{short} [1]"
    if len(short.split()) <= SHORT_WORDS:
        a, b = _support(sentence.text, item.span)
        if len(sentence.text[a:b].split()) - len(short.split()) >= 3:
            text += f" — {_shown(sentence.text, a, b)}"
    citation = Citation.of(sentence.hit.chunk, 1, sentence.start, sentence.end, True, citation_span)
    return _answer(question, text, (citation,), short)


def _sentence_only(question: str, item: Scored) -> Answer:
    sentence = item.sentence
    citation = Citation.of(sentence.hit.chunk, 1, sentence.start, sentence.end, True)
    return _answer(question, f"{' '.join(sentence.text.split())} [1]", (citation,), None)


def _source(chunk) -> str:
    meta = ", ".join(x for x in (chunk.outlet, chunk.date) if x)
    return f"«{chunk.title}»" + (f" ({meta})" if meta else "")


def _several(question: str, items: list[Scored]) -> Answer:
    """Each document's answer on its own line, with where it comes from."""
    lines, citations = ["Các tài liệu nêu khác nhau:"], []
    for n, item in enumerate(items, 1):
        sentence = item.sentence
        s, e = item.span
        short = " ".join(sentence.text[s:e].split())
        a, b = _support(sentence.text, item.span)
        lines.append(
            f"- Theo {_source(sentence.hit.chunk)}: {short} [{n}] — {_shown(sentence.text, a, b)}"
        )
        citations.append(
            Citation.of(
                sentence.hit.chunk,
                n,
                sentence.start,
                sentence.end,
                True,
                (sentence.start + s, sentence.start + e),
            )
        )
    first = items[0]
    short = " ".join(first.sentence.text[first.span[0] : first.span[1]].split())
    return _answer(question, "\n".join(lines), tuple(citations), short)


# Items are split at semicolons when the enumeration has them (its items then hold commas of
# their own), otherwise at commas and "và" / "hoặc".
_ITEM_SPLIT = re.compile(r"\s*(?:[,;]|\s(?:và|hoặc)\s)\s*")
_ITEM_SPLIT_SEMICOLON = re.compile(r"\s*;\s*")
ITEM_WORDS = 25  # for items between semicolons
COMMA_ITEM_WORDS = 8  # for items between commas: longer ones are clauses, not items


def _enumeration(text: str, span: tuple[int, int] | None) -> list[tuple[int, int]]:
    """The items of the enumeration that holds the span: from a colon (or the span's start)
    to the end of the sentence, or of the span when there is no colon."""
    if span is None:
        return []
    colon = text.rfind(":", 0, span[0] + 1)
    if colon >= 0:
        start, end = colon + 1, len(text)
    else:
        start, end = span
    body = text[start:end]
    split = _ITEM_SPLIT_SEMICOLON if ";" in body else _ITEM_SPLIT
    items, pos = [], start
    for m in [*split.finditer(text, start, end), None]:
        stop = m.start() if m else end
        piece = text[pos:stop]
        stripped = piece.strip().rstrip(".!?…")
        if stripped:
            lead = len(piece) - len(piece.lstrip())
            items.append((pos + lead, pos + lead + len(stripped)))
        if m:
            pos = m.end()
    limit = ITEM_WORDS if split is _ITEM_SPLIT_SEMICOLON else COMMA_ITEM_WORDS
    if len(items) < 2 or any(len(text[a:b].split()) > limit for a, b in items):
        return []
    return items


def _bullets(question: str, sentence: Sentence, items: list[tuple[int, int]]) -> Answer:
    lines, citations = [], []
    for n, (a, b) in enumerate(items, 1):
        lines.append(f"- {' '.join(sentence.text[a:b].split())} [{n}]")
        citations.append(
            Citation.of(
                sentence.hit.chunk,
                n,
                sentence.start,
                sentence.end,
                True,
                (sentence.start + a, sentence.start + b),
            )
        )
    return _answer(question, "\n".join(lines), tuple(citations), None)


def _yes_no(question: str, asked: Asked, item: Scored) -> Answer:
    """'Có' when the evidence states what is asked, 'Không' when it states it negated."""
    sentence = item.sentence
    asked_negated = bool(_NEGATION & set(fold(canonical(asked.text)).split()[:-1]))
    said = [w.folded for w in tagged(sentence.text)]
    negated = bool(_NEGATION & set(said)) != asked_negated
    short = "Không" if negated else "Có"
    # The evidence is the clause around the span the question points at, not the whole sentence.
    a, b = _support(sentence.text, item.span or (0, 1))
    citation = Citation.of(sentence.hit.chunk, 1, sentence.start, sentence.end, True)
    return _answer(question, f"{short} [1] — {_shown(sentence.text, a, b)}", (citation,), short)


def _answer(question: str, text: str, citations: tuple[Citation, ...], short: str | None) -> Answer:
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


# Vietnamese surnames (a general resource): a proper name that starts with one is a person's.
SURNAMES = frozenset(
    fold(canonical(w))
    for w in """
Nguyễn Trần Lê Phạm Hoàng Huỳnh Phan Vũ Võ Đặng Bùi Đỗ Hồ Ngô Dương Lý Phùng Đinh Trịnh
Đào Mai Tô Lưu Cao Lâm Chu Tạ Thái Đoàn Lương Vương Trương Kiều Quách Triệu Văn Hứa Lã
Mạc Khổng Giang Hà Tăng Thân Tôn Nông Lò Lục Âu Doãn Đàm Kim Lại Tống Quan Châu Từ
Nghiêm Khúc Thạch Diệp Lỳ Sùng Giàng Thào Vàng Mùa Hoàng
""".split()
)


def person_names(text: str, against: str = "") -> list[str]:
    """Names of two or more capitalised syllables in `text` that `against` does not say (the
    person a follow-up question's "ông ấy" refers to): those that start with a surname first,
    then the other proper nouns (the tagger misses a name that opens a text)."""
    said = fold(canonical(against))
    found = []
    for word in tagged(text):
        name = text[word.start : word.end]
        syllables = name.split()
        if len(syllables) < 2 or word.folded in said:
            continue
        capitalised = all(s[:1].isupper() for s in syllables)
        surname = capitalised and word.folded.split()[0] in SURNAMES
        if surname or word.tag == "Np":
            found.append((not surname, word.start, name))
    return [name for _, _, name in sorted(found)]
