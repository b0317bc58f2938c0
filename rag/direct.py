"""The direct answer: the short span of the chosen sentence that answers the question.

In: the question and the sentence the extractive answerer chose (with the typed spans it found
there, if any). Out: the best span of the sentence (offsets in it) and its probability, for
every kind of question: runs of up to SPAN_WORDS underthesea words that do not cross a clause
mark, scored by a small logistic model on interpretable features (overlap of the span and its
neighbourhood with the question, distance to the question's words, asked type against POS tags,
span length and edges). The weights (`span_weights.json`) are fitted by
`python -m eval train-answerer` on the XQuAD-vi tune half only.
Never changes the sentence: a span is a slice of it.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from rag.answer.question import Question
from rag.scoring import logistic
from rag.spans import in_quotes
from rag.text import canonical, fold

WEIGHTS_FILE = Path(__file__).with_name("span_weights.json")
# A span is at most this many words (underthesea words, which join syllables).
SPAN_WORDS = 10


@dataclass(frozen=True)
class Word:
    start: int  # offsets in the sentence
    end: int
    tag: str  # underthesea POS: Np proper noun, M numeral, N noun, V verb, E preposition, CH mark
    folded: str  # lowercase, no diacritics


# underthesea loads its tagger on first use without a lock, and the page answers chats in
# parallel threads: two first calls at once crash (its featurizer is still None).
_TAGGER = threading.Lock()


@lru_cache(maxsize=4096)
def tagged(sentence: str) -> tuple[Word, ...]:
    """The sentence's words with their POS tags and offsets into it."""
    from underthesea import pos_tag

    with _TAGGER:
        tags = pos_tag(sentence)
    words: list[Word] = []
    pos = 0
    for token, tag in tags:
        start = end = -1
        for syllable in token.split():
            at = sentence.find(syllable, pos)
            if at < 0:
                break
            if start < 0:
                start = at
            end = pos = at + len(syllable)
        if start >= 0:
            words.append(Word(start, end, tag, fold(canonical(sentence[start:end])).lower()))
    return tuple(words)


_DIGIT = re.compile(r"\d")
_NUMBER_WORDS = frozenset(
    fold(w)
    for w in "một hai ba bốn năm sáu bảy tám chín mười mươi trăm nghìn ngàn vạn triệu tỷ tỉ "
    "chục nửa rưỡi".split()
)
_DATE = re.compile(
    r"(?<![\d/-])\d{1,2}[/-]\d{1,2}(?:[/-]\d{2,4})?(?![\d/-])|thang\s+\d{1,2}|nam\s+\d{3,4}"
    r"|the ky\s+\w+|(?<!\d)(?:1\d|20)\d{2}(?!\d)"
)
_PLACE_WORDS = frozenset(
    fold(w)
    for w in "tại ở trong từ đến tới vào khắp thành phố tỉnh huyện quận xã nước vùng miền "
    "thủ đô".split()
)
_REASON = ("vi", "do", "boi", "nho", "de", "nham", "nen")
_MANNER = ("bang", "thong qua", "qua", "nho", "theo", "voi")
_EDGE = frozenset(("E", "C", "CC", "CH", "R", "T"))
_CONTENT = ("N", "Np", "Nc", "M", "L", "Ny", "Nu")

FEATURES = (
    "in_question",  # share of the span's words that the question has
    "len1",
    "len2_3",
    "len4_6",
    "len7",
    "near",  # 1 / (1 + words from the span to the nearest question word)
    "neighbour_overlap",  # share of the question's words within 3 words on either side
    "clause_overlap",  # share of the question's words in the span's clause
    "after_la",  # "X là <span>": a definition or an identity
    "after_preposition",
    "typed_top",  # the span is the typed span the rules ranked first (594 for 'bao nhiêu chi bộ')
    "typed_inside",  # the span holds a typed span
    "type_match",  # POS/regex agree with the asked kind: numeral, date, proper noun, place
    "type_mismatch",
    "grain_match",  # "năm nào" and a year
    "unit_match",  # "bao nhiêu chi bộ" and "594 chi bộ"
    "proper",  # share of proper nouns
    "numeral",
    "first_content",
    "first_verb",
    "first_edge",
    "last_content",
    "last_edge",
    "reason_marker",  # a why-question and the span opens with vì/do/để/nhờ
    "manner_marker",  # a how-question and the span opens with bằng/qua/nhờ
    "untyped",  # what/why/how/other question
    "prev_content",
    "prev_verb",
    "next_content",
    "next_verb",
    "next_edge",
    "clause_end",  # the span reaches the end of its clause
    # The span stands where the question's wh-word stands: "Đề án … về nội dung gì?" and
    # "Đề án … về <span>", "năm nào" and "năm <span>", "<span> chủ trì" and "ai chủ trì".
    "slot_left1",
    "slot_left2",
    "slot_right1",
    # "Sân bay nào …?" and "Sân bay quốc tế …": the span opens with the words before the wh-word.
    "slot_head1",
    "slot_head2",
)


@dataclass(frozen=True)
class Span:
    start: int  # offsets in the sentence
    end: int
    features: tuple[float, ...]


def spans(asked: Question, sentence: str, typed: Sequence[tuple[int, int]] = ()) -> list[Span]:
    """Every run of up to SPAN_WORDS words that crosses no clause mark and is not all in the
    question, with its features; `typed` are the rules' typed spans, best first."""
    words = tagged(sentence)
    is_q = [w.tag != "CH" and all(s in asked.words for s in w.folded.split()) for w in words]
    anchors = [i for i, q in enumerate(is_q) if q]
    breaks = [
        i
        for i, w in enumerate(words)
        if w.tag == "CH" and w.folded not in "%/" and not _inside(sentence, w)
    ]
    out: list[Span] = []
    for i in range(len(words)):
        if words[i].tag == "CH":
            continue
        for j in range(i, min(len(words), i + SPAN_WORDS)):
            if j in breaks and words[j].folded != ",":
                break
            if words[j].tag == "CH" or all(is_q[i : j + 1]):
                continue
            if not _whole(sentence, words[i].start, words[j].end):
                continue
            row = _row(asked, sentence, words, is_q, anchors, breaks, i, j, typed)
            out.append(Span(words[i].start, words[j].end, row))
    return out


# A span is made of whole written tokens: it starts after a space or an opening mark and ends
# before a space or a closing mark, never inside "06-Ctr/ĐUK" or "Bắc-Nam".
_OPENS = "([{\"'“‘«"
_CLOSES = ")]}\"'”’».,;:!?…%"


def _inside(sentence: str, word: Word) -> bool:
    """A mark written inside a token ("06-Ctr", "23-16"), not between words."""
    return (
        word.start > 0
        and word.end < len(sentence)
        and sentence[word.start - 1].isalnum()
        and sentence[word.end].isalnum()
    )


def _whole(sentence: str, start: int, end: int) -> bool:
    before = sentence[start - 1] if start > 0 else " "
    after = sentence[end] if end < len(sentence) else " "
    return (before.isspace() or before in _OPENS) and (after.isspace() or after in _CLOSES)


def _row(asked, sentence, words, is_q, anchors, breaks, i, j, typed) -> tuple[float, ...]:
    inside = words[i : j + 1]
    length = sum(w.tag != "CH" for w in inside)
    start, end = words[i].start, words[j].end
    text = fold(canonical(sentence[start:end])).lower()
    kind = asked.wh
    total = max(len(asked.words), 1)
    distance = min((min(abs(a - i), abs(a - j)) for a in anchors if a < i or a > j), default=99)
    around = set(k for k in range(max(0, i - 3), min(len(words), j + 4)) if k < i or k > j)
    neighbour = {s for k in around if is_q[k] for s in words[k].folded.split()}
    lo = max((b for b in breaks if b < i), default=-1)
    hi = min((b for b in breaks if b > j), default=len(words))
    clause = {s for k in range(lo + 1, hi) if is_q[k] for s in words[k].folded.split()}
    numeral = any(
        w.tag == "M" or _DIGIT.search(w.folded) or w.folded in _NUMBER_WORDS for w in inside
    )
    proper = sum(w.tag == "Np" for w in inside) / max(length, 1)
    prev = words[i - 1] if i > 0 else None
    nxt = words[j + 1] if j + 1 < len(words) else None
    if kind == "number":
        match = numeral and not re.fullmatch(r"(?:1\d|20)\d{2}", text.strip())
    elif kind == "date":
        match = bool(_DATE.search(text))
    elif kind == "person":
        match = words[i].tag == "Np"
    elif kind == "place":
        match = proper > 0 and (prev is None or prev.folded in _PLACE_WORDS or proper == 1)
    else:
        match = False
    unit = 0.0
    if asked.unit and numeral:
        after = " ".join(w.folded for w in words[j + 1 : j + 3])
        unit = float(" ".join(asked.unit[:2]) in text or after.startswith(asked.unit[0]))
    top = typed[0] if typed else None
    before = re.findall(r"\w+", fold(sentence[max(0, start - 40) : start]).lower())[-2:]
    after = re.findall(r"\w+", fold(sentence[end : end + 20]).lower())[:1]
    head = " ".join(w.folded for w in inside[:2])
    opening = re.findall(r"\w+", fold(sentence[start:end]).lower())[:2]
    return (
        sum(is_q[i : j + 1]) / max(length, 1),
        float(length == 1),
        float(2 <= length <= 3),
        float(4 <= length <= 6),
        float(length >= 7),
        1.0 / (1.0 + distance),
        len(neighbour) / total,
        len(clause) / total,
        float(prev is not None and prev.folded == "la"),
        float(prev is not None and prev.tag == "E"),
        float(top is not None and top == (start, end)),
        float(any(start <= a and b <= end for a, b in typed)),
        float(match),
        float(kind in ("number", "date", "person", "place") and not match),
        float(asked.grain is not None and bool(asked.grain.search(sentence[start:end]))),
        unit,
        proper,
        float(numeral),
        float(inside[0].tag in _CONTENT),
        float(inside[0].tag == "V"),
        float(inside[0].tag in _EDGE),
        float(inside[-1].tag in _CONTENT),
        float(inside[-1].tag in _EDGE),
        float(kind == "reason" and head.startswith(_REASON)),
        float(kind == "manner" and head.startswith(_MANNER)),
        float(kind in ("what", "reason", "manner", "other")),
        float(prev is not None and prev.tag in _CONTENT),
        float(prev is not None and prev.tag == "V"),
        float(nxt is not None and nxt.tag in _CONTENT),
        float(nxt is not None and nxt.tag == "V"),
        float(nxt is not None and nxt.tag in _EDGE),
        float(nxt is None or j + 1 in breaks),
        float(bool(asked.left) and before[-1:] == list(asked.left[-1:])),
        float(len(asked.left) == 2 and before == list(asked.left)),
        float(asked.right is not None and after == [asked.right]),
        float(bool(asked.left) and opening[:1] == list(asked.left[-1:])),
        float(len(asked.left) == 2 and opening[:2] == list(asked.left)),
    )


@dataclass(frozen=True)
class SpanModel:
    weights: tuple[float, ...]
    bias: float

    def __call__(self, row: Sequence[float]) -> float:
        return logistic(self.weights, self.bias, row)

    @classmethod
    def load(cls, path: Path = WEIGHTS_FILE) -> SpanModel:
        spec = json.loads(path.read_text("utf-8"))
        if tuple(spec["names"]) != FEATURES:
            raise ValueError(f"{path.name} không khớp các đặc trưng: chạy lại eval train-answerer")
        return cls(tuple(spec["weights"]), spec["bias"])


@lru_cache(maxsize=1)
def default_model() -> SpanModel:
    return SpanModel.load()


# Spans tried, most probable first, for one of the asked type.
TYPED_TRIES = 30


def best_span(
    question: str | Question,
    sentence: str,
    typed: Sequence[tuple[int, int]] = (),
    model: SpanModel | None = None,
    allowed: Callable[[str], bool] | None = None,
) -> tuple[int, int, float] | None:
    """The most probable answering span of `sentence` (offsets in it) and its probability;
    with `allowed`, the most probable of the TYPED_TRIES best that `allowed` accepts (None when
    it accepts none: a span of another type is never the answer)."""
    model = model or default_model()
    asked = Question.parse(question) if isinstance(question, str) else question
    found = spans(asked, sentence, typed)
    ranked = sorted(
        ((model(s.features), -(s.end - s.start), -k, s) for k, s in enumerate(found)),
        key=lambda r: r[:3],
        reverse=True,
    )
    if asked.kind == "person":  # a name in a quoted title or slogan did not do what is asked
        ranked = [r for r in ranked if not in_quotes(sentence, r[3].start, r[3].end)]
    for probability, _, _, best in ranked[: TYPED_TRIES if allowed else 1]:
        if allowed is None or allowed(sentence[best.start : best.end]):
            return best.start, best.end, probability
    return None
