"""Answers shaped by what a question asks: a reason or means, a list, or yes / no.

In: a standalone question, the retrieved `Hit`s, the IDF and (with a real model) the
question-sentence cosine the extractive answerer uses. Out: an `Answer` for a why / how question
(the clause after "vì", "do", "nhờ", "để", "bằng cách"… first, cited, then an excerpt of its
sentence), a list question (one cited bullet per enumerated item of the best sentence) or a yes/no
question ("Có."/"Không." with the evidence sentence, or that the documents do not say); None when
the question is of no such shape, its best sentence is too weak evidence, or holds no such clause
or enumeration: the factoid answerer then answers or abstains as before.
Never rewrites article text: every shown piece is a slice of the original sentence.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from rag import phrases
from rag.abstain import too_weak
from rag.answer.evidence import Candidate, Similarity, gather
from rag.answer.factoid import SUPPORT_WORDS, answered, excerpt, support
from rag.answer.question import LIST, WHY, YES_NO, Question
from rag.errors import one_line
from rag.phrases import E as _E
from rag.phrases import Phrases as _Phrases
from rag.phrases import W as _W
from rag.question import terms
from rag.scoring import Overlap, flat_idf
from rag.sentences import Sentence
from rag.text import fold, word_tokens
from rag.types import Answer, Citation, Hit

# Evidence for "Có"/"Không": the best sentence holds at least this share of the proposition's
# weighted words (the seed abstention threshold is 0.3: enough to quote, not to affirm).
AFFIRM = 0.7
# A negation counts when it stands within this many words before a word of the proposition
# ("chưa được kết nạp"), not anywhere in a long sentence.
NEGATION_REACH = 3
UNCLEAR = "Tài liệu không nói rõ điều này."
MAX_CLAUSE_WORDS = 20
MAX_ITEM_WORDS = 15  # longer comma-separated pieces are clauses of a sentence, not list items

# The words that only ask (one list for every answerer: rag.phrases).
_ASKING = phrases.ASKING


# Connectives opening a reason or purpose (why) or a means (how); general Vietnamese grammar.
# "vì vậy", "do đó", "nhờ thế" open a consequence: the reason is what came before.
_CONSEQUENCE = r"(?!\s+(?:vậy|thế|đó|này|đấy)(?!\w))"
_REASON = _Phrases(
    rf"{_W}(?:bởi vì|bởi lẽ|tại vì|vì|bởi|do|nhờ(?: vào| có)?|là do|để|nhằm(?: mục đích)?)"
    rf"{_E}{_CONSEQUENCE}"
)
# A purpose ("để", "nhằm") answers why, not how.
_MEANS = _Phrases(
    rf"{_W}(?:bằng cách|bằng việc|thông qua|qua việc|bằng|nhờ(?: vào| có)?|với việc)"
    rf"{_E}{_CONSEQUENCE}"
)
# A sentence opening with "Vì vậy", "Do đó", "Chính vì thế"… states the consequence of the one
# before it, which is then the reason.
_THEREFORE = _Phrases(
    r"^\W*(?:chính\s+)?(?:vì|do|bởi|nhờ|cho)\s+(?:vậy|thế|đó|nên)(?!\w)|^\W*vậy nên(?!\w)"
)
# Where a clause ends (a clause opening the sentence ends at its comma, see _clauses).
_CLAUSE_END = re.compile(r"[;:]")


def answer_shaped(
    question: str,
    hits: Sequence[Hit],
    idf: Callable[[str], float] = flat_idf,
    similarity: Similarity | None = None,
) -> Answer | None:
    """The answer of the question's shape, or None for the factoid answerer."""
    q = Question.parse(question)
    shape = q.shape
    if shape is None:
        return None
    # Scored on what the question is about: its asking words are not missing from the evidence.
    about = _ASKING.sub(question)
    evidence = gather(q, hits, idf, similarity, about=about, typed=False)
    if evidence is None:
        return None
    overlap = evidence.overlap
    best = evidence.ranked[0]  # the first of equal scores
    # The factoid answerer's abstention, without the evidence score (fitted on factoids only).
    if too_weak(question, best.coverage, best.sentence.text, hits, idf, floor=0.0):
        return None  # weak evidence: the factoid answerer abstains (or finds better) as before
    if shape == YES_NO:
        return _yes_no(question, about, best, overlap, _previous(evidence.sentences, best.sentence))
    text = best.sentence.text
    found = _items(text, overlap) if shape == LIST else (_reason if shape == WHY else _means)(text)
    if shape == WHY and not found and _THEREFORE.search(best.sentence.text):
        before = _previous(evidence.sentences, best.sentence)
        if before is not None:
            return _because_before(question, before, best.sentence)
    if not found:
        return None
    if shape == LIST:
        return _bullets(question, best.sentence, found)
    return _clause_answer(question, best.sentence, found[0])


# --- why / how -------------------------------------------------------------------------------


def _reason(text: str) -> list[tuple[int, int]]:
    return _clauses(text, _REASON)


def _means(text: str) -> list[tuple[int, int]]:
    return _clauses(text, _MEANS)


def _clauses(text: str, connectives: _Phrases) -> list[tuple[int, int]]:
    """(start, end) of each clause of `text` opened by one of `connectives`: to the next ";" or
    ":", or, for a clause opening the sentence ("Vì …, nên …"), to its comma; cut to
    MAX_CLAUSE_WORDS words at a comma when longer."""
    pattern, form = connectives.pick(text)
    out = []
    for m in pattern.finditer(form):
        end_mark = _CLAUSE_END.search(text, m.end())
        end = end_mark.start() if end_mark else len(text)
        opening = not text[: m.start()].strip(" \"'“(-–")
        comma = text.find(",", m.end(), end)
        if opening and comma > 0:
            end = comma
        while len(text[m.start() : end].split()) > MAX_CLAUSE_WORDS:
            comma = text.rfind(",", m.end(), end)
            if comma < 0:
                break
            end = comma
        end = len(text[:end].rstrip(" .!?…,"))
        if len(text[m.end() : end].split()) >= 2:  # "do đó", "vì thế" open no reason
            out.append((m.start(), end))
    return out


def _clause_answer(question: str, sentence: Sentence, clause: tuple[int, int]) -> Answer:
    """The clause first, cited, then the excerpt of its sentence around it."""
    text = sentence.text
    a, b = clause
    short = text[a:b]
    cs, ce = support(text, clause, SUPPORT_WORDS)
    shown = excerpt(text, cs, ce)
    body = f"{one_line(short)} [1] — {shown}" if shown.strip("… ") != short else f"{short} [1]"
    span = (sentence.start + a, sentence.start + b)
    citation = Citation.of(sentence.chunk, 1, sentence.start, sentence.end, True, span)
    return answered(question, body, (citation,), short)


def _previous(sentences: Sequence[Sentence], sentence: Sentence) -> Sentence | None:
    """The sentence just before `sentence` in its article, when it was retrieved."""
    before = [
        s for s in sentences if s.chunk.doc_id == sentence.chunk.doc_id and s.end <= sentence.start
    ]
    return max(before, key=lambda s: s.end, default=None)


def _because_before(question: str, reason: Sentence, consequence: Sentence) -> Answer:
    """The reason sentence whole (it is the answer), then an excerpt of the consequence."""
    shown = excerpt(consequence.text, *support(consequence.text, None, SUPPORT_WORDS))
    citations = (
        Citation.of(reason.chunk, 1, reason.start, reason.end, True, (reason.start, reason.end)),
        Citation.of(consequence.chunk, 2, consequence.start, consequence.end, True),
    )
    body = f"{one_line(reason.text)} [1] — {shown} [2]"
    return answered(question, body, citations, reason.text)


# --- lists -----------------------------------------------------------------------------------

# What introduces an enumeration: a colon, or the verbs and words that announce one. Without
# one, commas and semicolons separate clauses far more often than items (XQuAD-vi tune half).
_INTRODUCER = _Phrases(rf"(?::|{_W}(?:bao gồm|gồm có|gồm|như là|như|là){_E})")
# Clauses between semicolons are items only after a colon or "gồm"/"bao gồm"/"như".
_STRONG = _Phrases(rf"(?::|{_W}(?:bao gồm|gồm có|gồm|như là|như){_E})")
_CLAUSE_OPENER = _Phrases(rf"(?:và|nhưng|còn|song|đồng thời|trong khi){_E}")
_AND = re.compile(r"\s+(?:và|cùng|hoặc|va|hoac)\s+")


def _items(text: str, overlap: Overlap | None = None) -> list[tuple[int, int]]:
    """(start, end) of the enumerated items of `text`. Within the clause between semicolons
    closest to the question (by `overlap`; any clause without one): the items after the colon or
    word introducing them, split at "," and the last "và" (at least three, each at most
    MAX_ITEM_WORDS words: two comma pieces are as often two clauses). Else, the clauses between
    the sentence's semicolons themselves (at least two)."""
    body_end = len(text.rstrip(" .!?…"))
    cuts = [0] + [m.end() for m in re.finditer(";", text[:body_end])]
    clauses = [(a, b - 1) for a, b in zip(cuts, cuts[1:], strict=False)] + [(cuts[-1], body_end)]
    if overlap is not None:
        clauses.sort(key=lambda c: -overlap(text[c[0] : c[1]]))
    for a, b in clauses[: 1 if overlap is not None else len(clauses)]:
        items = _comma_items(text, a, b)
        if items:
            return items
    if len(clauses) < 2:
        return []
    clauses.sort()
    a, b = clauses[0]
    pattern, form = _STRONG.pick(text)
    opens = [m.end() for m in pattern.finditer(form, a, b)]
    if not opens:
        return []
    clauses[0] = (opens[-1], b)
    items = [_strip(text, a, b) for a, b in clauses]
    return [(a, b) for a, b in items if b > a]


def _comma_items(text: str, a: int, b: int) -> list[tuple[int, int]]:
    first = text.find(",", a, b)
    if first < 0:
        return []
    pattern, form = _INTRODUCER.pick(text)
    opens = [m.end() for m in pattern.finditer(form, a, first)]
    if not opens:
        return []
    start = opens[-1]
    cuts = [start] + [m.end() for m in re.finditer(",", text[:b]) if m.end() > start]
    pieces = [(x, y - 1) for x, y in zip(cuts, cuts[1:], strict=False)] + [(cuts[-1], b)]
    x, y = pieces[-1]
    last_and = list(_AND.finditer(text, x, y))
    if last_and:
        pieces[-1:] = [(x, last_and[-1].start()), (last_and[-1].end(), y)]
    items = [_strip(text, x, y) for x, y in pieces]
    items = [(x, y) for x, y in items if y > x]
    if len(items) < 3 or any(len(text[x:y].split()) > MAX_ITEM_WORDS for x, y in items):
        return []
    # ", và …", ", nhưng …" after a comma opens a clause: the commas were not an enumeration.
    pattern, form = _CLAUSE_OPENER.pick(text)
    if any(pattern.match(form, x) for x, _ in items):
        return []
    return items


def _strip(text: str, a: int, b: int) -> tuple[int, int]:
    while a < b and (text[a].isspace() or text[a] in "-–+•"):
        a += 1
    while b > a and (text[b - 1].isspace() or text[b - 1] in ".,;"):
        b -= 1
    return a, b


def _bullets(question: str, sentence: Sentence, items: list[tuple[int, int]]) -> Answer:
    lines, citations = [], []
    for n, (a, b) in enumerate(items, 1):
        lines.append(f"- {one_line(sentence.text[a:b])} [{n}]")
        span = (sentence.start + a, sentence.start + b)
        citations.append(Citation.of(sentence.chunk, n, sentence.start, sentence.end, True, span))
    return answered(question, "\n".join(lines), tuple(citations), None)


# --- yes / no --------------------------------------------------------------------------------

_NEGATION = frozenset(["khong", "chua", "chang", "cha"])
# "không chỉ", "không ngừng", "không những", "không kém": these intensify, they do not negate.
_NOT_NEGATING = frozenset(["chi", "ngung", "nhung", "kem"])


def _negated(text: str, words: set[str]) -> bool:
    """A negation within NEGATION_REACH words before a word of the proposition (folded)."""
    tokens = word_tokens(fold(text).lower())
    return any(
        t in _NEGATION
        and i + 1 < len(tokens)
        and tokens[i + 1] not in _NOT_NEGATING
        and any(u in words for u in tokens[i + 1 : i + 1 + NEGATION_REACH])
        for i, t in enumerate(tokens)
    )


def _yes_no(
    question: str, about: str, best: Candidate, overlap: Overlap, before: Sentence | None
) -> Answer:
    """ "Có." when the best sentence holds AFFIRM of the proposition's weight, "Không." when it
    also negates it and the question does not (or the reverse); else that the documents do not
    say, with the closest sentence. A sentence that says it of what the sentence before it
    names ("… dự và chỉ đạo hội nghị" after "… tổ chức Hội nghị kiểm điểm") holds it with that
    sentence, and both are quoted. The excerpt shown is the part of the sentence closest to
    the proposition, so the quote says what the verdict rests on."""
    sentence = best.sentence
    quoted = [sentence]
    # Only the sentence just before it (a few spaces apart) completes what it says.
    joint = (
        before is not None
        and before.chunk.doc_id == sentence.chunk.doc_id
        and sentence.start - before.end <= 3
    )
    if joint and best.coverage < AFFIRM and overlap(f"{before.text} {sentence.text}") >= AFFIRM:
        quoted = [before, sentence]
    shown = [excerpt(s.text, *_focus(s.text, overlap, about)) for s in quoted]
    citations = tuple(
        Citation.of(s.chunk, n, s.start, s.end, True) for n, s in enumerate(quoted, 1)
    )
    quote = " ".join(f"{text} [{n}]" for n, text in enumerate(shown, 1))
    if len(quoted) == 1 and best.coverage < AFFIRM:
        body = f"{UNCLEAR} Câu gần nhất trong tài liệu: {quote}"
        return Answer(
            body,
            citations,
            abstained=True,
            mode="extractive",
            question=question,
            standalone_question=question,
        )
    words = set(terms(about, folded=True)) - _NEGATION
    verdict = "Không" if _negated(sentence.text, words) != _negated(about, words) else "Có"
    return answered(question, f"{verdict}. {quote}", citations, verdict)


_CLAUSE_CUT = re.compile(r"[;:,]\s|\s[-–]\s")


def _focus(text: str, overlap: Overlap, about: str) -> tuple[int, int]:
    """The excerpt of `text` a yes/no verdict quotes: its opening SUPPORT_WORDS words, unless
    the clause (between ";", ":", "," or a dash) that holds most of the proposition (its
    numbers first: they are the claim) lies beyond them; then the excerpt around that clause."""
    opening = support(text, None, SUPPORT_WORDS)
    cuts = [0] + [m.end() for m in _CLAUSE_CUT.finditer(text)] + [len(text)]
    clauses = [(a, b) for a, b in zip(cuts, cuts[1:], strict=False) if text[a:b].strip()]
    if len(clauses) < 2:
        return opening
    # Counts and amounts, not the digits of a code ("51-KH/ĐUK").
    numbers = re.findall(r"(?<![\w/-])\d+(?:[.,]\d+)*(?![\w/-])", about)

    def weight(clause: tuple[int, int]) -> tuple[int, float, int]:
        part = text[clause[0] : clause[1]]
        held = sum(
            bool(re.search(rf"(?<![\d.,/]){re.escape(n)}(?![\d.,/])", part)) for n in numbers
        )
        return held, overlap(part), -clause[0]

    best = max(clauses, key=weight)
    return opening if best[1] <= opening[1] else support(text, best, SUPPORT_WORDS)


# ---------------------------------------------------------------------------------------------


__all__ = ["UNCLEAR", "answer_shaped"]
