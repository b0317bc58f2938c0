"""Answerers and citation verification.

In: a standalone question and the retrieved `Hit`s. Out: an `Answer` whose every claim carries
a citation [n] to a retrieved passage, with the supporting sentence and its offsets in the
original file. The extractive answerer picks 1-2 original sentences and marks the answering span;
the LLM answerer's reply is verified: markers to no passage are removed, and every sentence that
no cited passage supports is flagged in the text and listed on the `Answer`.
Never rewrites quoted text: quotes and passages are slices of the original article.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rag.errors import one_line
from rag.text import canonical, fold, has_diacritics, split_sentences, word_tokens
from rag.types import Answer, Citation, Hit

ABSTAIN_TEXT = "Không tìm thấy thông tin này trong tài liệu."

# Calibrated on eval/questions.jsonl (see docs/evaluation.md): below this share of the
# question's weighted terms found in the best sentence, the evidence is too weak to answer.
ABSTAIN_THRESHOLD = 0.3
# A cited claim whose best sentence covers less than this share of its terms is not trusted.
SUPPORT_THRESHOLD = 0.5
# Written after each sentence of an LLM reply that no cited passage supports.
UNSUPPORTED_MARK = " (chưa có nguồn kiểm chứng)"


# ---------------------------------------------------------------------------------------------
# What the question asks for

# Function words of questions: they say what is asked, not what about.
QUESTION_WORDS = frozenset(
    canonical(w)
    for w in (
        "ai gì nào đâu sao bao nhiêu mấy khi giờ lúc thế như vậy là của và các những được có "
        "không đã đang sẽ trong với cho về thì tại ở này đó kia hãy biết hỏi theo bởi vì nên mà "
        "hay hoặc một người cái việc ra vào lên từ đến tới bằng ông bà anh chị ấy họ nó chúng "
        # ...and words about the documents rather than their content.
        "bài viết nhắc đề cập"
    ).split()
)

_ASKS = (  # (kind, pattern on the canonical lowercase question); first match wins
    (
        "date",
        re.compile(
            r"\b(khi nào|bao giờ|lúc nào|ngày nào|năm nào|tháng nào|thời gian nào|"
            r"thời điểm nào|ngày bao nhiêu|năm bao nhiêu)\b"
        ),
    ),
    ("number", re.compile(r"\b(bao nhiêu|mấy|số lượng|tỷ lệ|tỉ lệ)\b")),
    ("person", re.compile(r"(^|\s)(ai|người nào|đồng chí nào|ông nào|bà nào|những ai)(\s|\?|$)")),
    ("place", re.compile(r"\b(ở đâu|tại đâu|nơi nào|chỗ nào|địa điểm nào|đâu)\b")),
)


_ASKS_FOLDED = tuple((kind, re.compile(fold(p.pattern))) for kind, p in _ASKS)


def question_kind(question: str) -> str | None:
    """'date', 'number', 'person', 'place' or None: what kind of span answers it.
    A question typed without diacritics is matched on folded patterns ("bao nhieu")."""
    q = canonical(question)
    asks = _ASKS if has_diacritics(question) else _ASKS_FOLDED
    for kind, pattern in asks:
        if pattern.search(q):
            return kind
    return None


# Every uppercase letter with a Latin base (À-Ỹ as a range would take lowercase ones too).
_UPPER = "".join(
    c
    for c in map(chr, range(0x41, 0x1EFA))
    if c.isupper() and fold(c).isascii() and fold(c).isalpha()
)
_NUMBER_WORD = r"(?:một|hai|ba|bốn|sáu|bảy|tám|chín|mười|mươi|trăm|nghìn|ngàn|triệu|tỷ)"
_NUMBER = re.compile(
    r"(?<![\w/-])\d+(?:[.,]\d+)*(?:\s?%)?(?![\w/-])"
    r"|(?<=thứ )[IVXL]{1,6}(?![\w/-])"
    rf"|(?<!\w){_NUMBER_WORD}(?:\s+{_NUMBER_WORD})*(?!\w)"
)
_DATE = re.compile(
    r"(?:ngày\s+)?(?<![\d/-])\d{1,2}[/-]\d{1,2}(?:[/-]\d{2,4})?(?![\d/-])"
    r"|ngày\s+\d{1,2}\s+tháng\s+\d{1,2}(?:\s+năm\s+\d{4})?"
    r"|tháng\s+\d{1,2}(?:\s*(?:/|năm)\s*\d{4})?"
    r"|năm\s+\d{4}|(?<!\d)(?:1[5-9]|20)\d{2}(?!\d)",
    re.IGNORECASE,
)
_YEAR = re.compile(r"(?:1[5-9]|20)\d{2}")
_YEAR_RANGE = re.compile(r"(?<!\d)(?:1[5-9]|20)\d{2}\s*[-–]\s*(?:1[5-9]|20)\d{2}(?!\d)")
_NAME = re.compile(rf"(?<!\w)[{_UPPER}][\w'’]*(?:[ \-][{_UPPER}][\w'’]*)+")
_PLACE = re.compile(
    rf"(?:tại|ở|trên địa bàn|tỉnh|thành phố|huyện|xã|quận)\s+"
    rf"([{_UPPER}][\w]*(?:\s[{_UPPER}][\w]*)*)"
)
# Capitalised words of titles and institutions: trimmed from the front of a name...
_TITLE_WORDS = frozenset(
    canonical(w)
    for w in """
Đảng Khối Ban Bí Thư Phó Trưởng Thường Trực Ủy Uỷ Viên Hội Nghị Chương Trình Kế Hoạch
Đại Trung Ương Thành Tỉnh Nhà Nước Chính Phủ Quốc Bộ Sở Cơ Quan Doanh Nghiệp Đồng Chí
Ông Bà TP Chấp Hành UBND HĐND BCH TUV Chủ Tịch Tổng Giám Đốc Văn Phòng Quyết Chỉ Thị
Công Tác
""".split()
)
# ...and, never part of a person's name, a reason to reject the run.
_NOT_NAME = frozenset(
    canonical(w)
    for w in """
Đảng Khối Ban Ủy Uỷ Hội Nghị Chương Trình Kế Hoạch Bộ Sở Cơ Quan Doanh Nghiệp TP UBND
HĐND BCH TUV Thường Trực Phó Trưởng Bí Thư Chủ Tịch Tỉnh Phòng Nhà Nước Chính Phủ
""".split()
)


_SURNAMES = frozenset(
    canonical(w)
    for w in """
Nguyễn Trần Lê Phạm Hoàng Huỳnh Phan Vũ Võ Đặng Bùi Đỗ Hồ Ngô Dương Lý Phùng Đinh Trịnh
Đào Mai Tô Lưu Cao Lâm Chu Tạ Thái Đoàn Lương Vương Trương Kiều Quách Triệu Văn Hứa Lã
Mạc Khổng Giang Hà Tăng Thân Tôn Nông Lò Lục Âu Doãn Đàm Kim Lại Tống Quan Châu Từ
Nghiêm Khúc Thạch Diệp
""".split()
)


# Capitalised runs that are places, not people: known names, and runs after a place word.
_PLACES = frozenset(
    canonical(w)
    for w in (
        "Hà Nội",
        "Việt Nam",
        "Hải Phòng",
        "Đà Nẵng",
        "Cần Thơ",
        "Sài Gòn",
        "Điện Biên",
        "Quảng Ngãi",
        "Quảng Ninh",
        "Thanh Hóa",
        "Nghệ An",
        "Huế",
        "Hà Giang",
        "Lào Cai",
    )
)
_PLACE_BEFORE = re.compile(r"(?:TP\.?|Tp\.?|tỉnh|thành phố|huyện|quận|xã|tại|ở)\s*$", re.I)


def _spans(
    kind: str, sentence: str, question: str, idf: Callable[[str], float] | None = None
) -> list[tuple[int, int]]:
    """Candidate answering spans of `kind` in the sentence, leaving out what the question says."""
    q_folded = fold(question).lower()
    found: list[tuple[int, int]] = []
    if kind == "number":
        # A bare year ("2021 - 2025") answers "năm nào", not "bao nhiêu".
        found = [m.span() for m in _NUMBER.finditer(sentence) if not _YEAR.fullmatch(m.group())]
    elif kind == "date":
        # A term of office ("nhiệm kỳ 2020 - 2025") is not the date of an event.
        ranges = [m.span() for m in _YEAR_RANGE.finditer(sentence)]
        found = [
            m.span()
            for m in _DATE.finditer(sentence)
            if not any(a <= m.start() and m.end() <= b for a, b in ranges)
        ]
    elif kind == "person":
        for m in _NAME.finditer(sentence):
            words = m.group().split()
            # Trim leading titles ("Bí thư Đảng uỷ ... Lê Minh Đức" gives "Lê Minh Đức").
            while words and canonical(words[0]) in _TITLE_WORDS:
                words = words[1:]
            # "TP Hà Nội Lê Minh Đức": a name starts at its surname.
            starts = [i for i, w in enumerate(words[:-1]) if canonical(w) in _SURNAMES]
            if starts:
                first = starts[-1]
                while first - 1 in starts:  # "Bùi Võ Quảng": Võ is a surname, so is Bùi
                    first -= 1
                words = words[first:]
            name = " ".join(words)
            start = m.end() - len(name)
            if (
                len(words) >= 2
                and not any(canonical(w) in _NOT_NAME for w in words)
                and canonical(name) not in _PLACES
                and not _PLACE_BEFORE.search(sentence[max(0, start - 12) : start])
            ):
                found.append((start, m.end()))
    elif kind == "place":
        found = [m.span(1) for m in _PLACE.finditer(sentence)]
    found = [(s, e) for s, e in found if fold(sentence[s:e]).lower().strip() not in q_folded]
    return _rank_spans(kind, sentence, question, found, idf)


_GRAINS = (
    (re.compile(r"\bngày (nào|bao nhiêu)\b"), re.compile(r"\d{1,2}[/-]\d{1,2}|ngày\s+\d")),
    (re.compile(r"\bnăm (nào|bao nhiêu)\b"), re.compile(r"(?:1[5-9]|20)\d{2}")),
    (re.compile(r"\btháng (nào|mấy)\b"), re.compile(r"tháng\s+\d|\d{1,2}/\d{4}")),
)


def _date_grain(question: str) -> re.Pattern | None:
    """What a date question asks for: a pattern its answer should match, if it says."""
    q = canonical(question)
    return next((grain for asks, grain in _GRAINS if asks.search(q)), None)


_CLAUSE_BREAK = re.compile(r"[;:]|,\s|\s[-–]\s")


def _rank_spans(
    kind: str,
    sentence: str,
    question: str,
    spans: list[tuple[int, int]],
    idf: Callable[[str], float] | None = None,
) -> list[tuple[int, int]]:
    """Best first: a number of the unit the question asks about ('594 chi bộ'), then the span
    whose clause shares the most (IDF-weighted) with the question ("kim ngạch nhập khẩu đạt
    1.183,7" over "xuất khẩu đạt 2.2" for a question on imports), then the nearest one."""
    if len(spans) < 2:
        return spans
    weight = idf or flat_idf
    folded = fold(sentence).lower()
    terms = set(_terms(question, folded=True))
    anchors = [
        m.start() for term in terms for m in re.finditer(rf"(?<!\w){re.escape(term)}(?!\w)", folded)
    ]
    breaks = [0] + [m.end() for m in _CLAUSE_BREAK.finditer(sentence)] + [len(sentence) + 1]
    units = _unit(question) if kind == "number" else []

    def clause_score(span: tuple[int, int]) -> float:
        start = max(b for b in breaks if b <= span[0])
        end = min((b for b in breaks if b > span[1]), default=len(sentence))
        words = set(_terms(sentence[start:end], folded=True))
        return sum(weight(t) for t in terms & words)

    grain = _date_grain(question) if kind == "date" else None

    def key(span: tuple[int, int]) -> tuple[int, float, int]:
        if kind == "number":
            fit = _unit_fit(sentence, span, units) if units else 0
        else:  # "ngày nào" wants a day, "năm nào" a year
            fit = int(grain is not None and grain.search(sentence[span[0] : span[1]]) is not None)
        distance = min((abs(a - span[0]) for a in anchors), default=0)
        return (-fit, -clause_score(span), distance)

    return sorted(spans, key=key)


# Words that can follow "bao nhiêu" without naming what is counted ("tăng bao nhiêu so với").
_NOT_UNIT = frozenset("so voi la trong cua duoc tu den khi vao o tai thi nhu nao".split())


def _unit(question: str) -> list[str]:
    """The folded words naming what a number question counts: 'bao nhiêu chi bộ' -> chi bo."""
    m = re.search(r"(?:bao nhieu|may)\s+((?:\w+\s?){1,3})", fold(canonical(question)))
    if not m or m.group(1).split()[0] in _NOT_UNIT:
        return []
    return m.group(1).split()


def _unit_fit(sentence: str, span: tuple[int, int], unit: list[str]) -> int:
    """How well the number at `span` counts what the question asks about: 2 when both words of
    the unit follow it ('594 chi bộ'), 1 for the first word only or the unit just before it
    ('ở tuổi 39'), 0 for none."""
    if unit[:2] == ["phan", "tram"]:
        return 2 if sentence[span[0] : span[1]].rstrip().endswith("%") else 0
    after = re.findall(r"\w+", fold(canonical(sentence[span[1] : span[1] + 40])))
    before = re.findall(r"\w+", fold(canonical(sentence[max(0, span[0] - 20) : span[0]])))
    if len(unit) > 1 and after[:2] == unit[:2]:
        return 2
    return 1 if after[:1] == unit[:1] or before[-1:] == unit[:1] else 0


# ---------------------------------------------------------------------------------------------
# Sentence scoring


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


def _terms(text: str, folded: bool) -> list[str]:
    tokens = word_tokens(fold(text) if folded else text)
    stop = _FOLDED_STOP if folded else QUESTION_WORDS
    return [t for t in tokens if t not in stop]


# Without accents, only the function words whose folded form no content word shares: "dang"
# is also đảng, "co" cơ, "chi" chi bộ, "hoi" hội, "trong" trọng, "vi" đơn vị.
_FOLDED_STOP = frozenset(fold(w) for w in QUESTION_WORDS) - frozenset(
    "dang co chi hoi thi tu den toi bang ba anh ho do the luc bao may dau da ve nen tai chung "
    "ma vi trong cho".split()
)


class Overlap:
    """Share of a query's IDF-weighted terms (and bigrams) that a sentence contains."""

    def __init__(self, query: str, idf: Callable[[str], float]):
        self.folded = not has_diacritics(query)
        terms = _terms(query, self.folded)
        self.weights = {t: idf(fold(t)) for t in dict.fromkeys(terms)}
        self.total = sum(self.weights.values()) or 1.0
        self.bigrams = set(zip(terms, terms[1:], strict=False))

    def __call__(self, sentence: str) -> float:
        tokens = _terms(sentence, self.folded)
        present = set(tokens)
        unigram = sum(w for t, w in self.weights.items() if t in present) / self.total
        if not self.bigrams:
            return unigram
        pairs = set(zip(tokens, tokens[1:], strict=False))
        bigram = len(self.bigrams & pairs) / len(self.bigrams)
        return 0.75 * unigram + 0.25 * bigram


def flat_idf(_: str) -> float:
    return 1.0


def idf_from_counts(doc_freq: Callable[[str], int], n_docs: int) -> Callable[[str], float]:
    def idf(term: str) -> float:
        return math.log(1 + (n_docs - doc_freq(term) + 0.5) / (doc_freq(term) + 0.5))

    return idf


# ---------------------------------------------------------------------------------------------
# Extractive answerer


class ExtractiveAnswerer:
    """Picks the 1-2 sentences of the retrieved passages that best answer the question."""

    def __init__(
        self,
        idf: Callable[[str], float] = flat_idf,
        abstain_threshold: float = ABSTAIN_THRESHOLD,
        second_ratio: float = 0.3,
        rank_weight: float = 0.2,
        similarity: Callable[[str, list[str]], list[float]] | None = None,
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
        units = _unit(question) if kind == "number" else []
        role = _asked_role(question) if kind == "person" else None
        scored = []
        for i, s in enumerate(sentences):
            spans = _spans(kind, s.text, question, self.idf) if kind else []
            if role and not _role_matches(role, s.text):
                spans = []  # a name, but not of the one who holds the title asked about
            if units:  # "bao nhiêu đại biểu": a number of something else does not answer it
                spans = [sp for sp in spans if _unit_fit(s.text, sp, units)]
            score = coverage[i] + (0.15 if spans else 0.0) + self.rank_weight / s.hit.rank
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
            or not _numbers_agree(question, _around(sentences[ranked[0][2]]))
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
        doc = best_sentence.hit.chunk.doc_id
        best_terms = set(_terms(best_sentence.text, folded=True))
        options = []
        for item in scored:
            sentence = sentences[item[2]]
            if item[2] == best[2] or sentence.hit.chunk.doc_id != doc:
                continue
            if _jaccard(best_terms, set(_terms(sentence.text, folded=True))) >= 0.6:
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
        picked.sort(key=lambda p: (not p[1], p[0].hit.rank, p[0].start))
        parts, citations = [], []
        span_text = None
        # One citation per sentence, even from one passage: each then highlights its own quote.
        for n, (sentence, spans) in enumerate(picked, 1):
            chunk = sentence.hit.chunk
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


_WHO_IS = re.compile(r"^\s*(?:ai là\s+(?P<a>.+?)|(?P<b>.+?)\s+là ai)\s*[?.]*\s*$", re.IGNORECASE)


# Offices named in news and bulletins; 'Ai là <office>?' asks who holds that very office.
_OFFICES = tuple(
    canonical(w)
    for w in (
        "bí thư",
        "phó bí thư",
        "tổng bí thư",
        "chủ tịch",
        "phó chủ tịch",
        "trưởng ban",
        "phó trưởng ban",
        "tổng biên tập",
        "phó tổng biên tập",
        "giám đốc",
        "phó giám đốc",
        "tổng giám đốc",
        "thủ tướng",
        "phó thủ tướng",
        "bộ trưởng",
        "thứ trưởng",
        "chủ nhiệm",
        "ủy viên",
        "uỷ viên",
        "chánh án",
        "viện trưởng",
        "hiệu trưởng",
        "tổng thống",
        "trưởng phòng",
        "chánh văn phòng",
        "tư lệnh",
        "chỉ huy trưởng",
    )
)


def _asked_role(question: str) -> list[str] | None:
    """The office in 'Ai là <office>?' / '<office> là ai?' (its first four words, folded);
    None for other 'who' questions ('Ai là người nhận bóng?')."""
    m = _WHO_IS.match(question)
    if not m:
        return None
    role = " ".join((m.group("a") or m.group("b")).split()[:4])
    if not canonical(role).startswith(_OFFICES):
        return None
    return _terms(role, folded=True)


def _role_matches(role: list[str], sentence: str) -> bool:
    """'Ai là Bí thư Thành ủy?' is not answered by 'Bí thư Đảng uỷ Khối …': the title must
    stand in the sentence as written, pair of words by pair of words."""
    have = _terms(sentence, folded=True)
    pairs = set(zip(have, have[1:], strict=False))
    return all(pair in pairs for pair in zip(role, role[1:], strict=False))


_QUESTION_NUMBER = re.compile(r"(?<![\w/-])\d+(?:[.,]\d+)*(?![\w/])")


def _around(sentence: Sentence, reach: int = 150) -> str:
    """The sentence with a little of its passage on each side."""
    chunk = sentence.hit.chunk
    start = max(0, sentence.start - chunk.start - reach)
    return chunk.text[start : sentence.end - chunk.start + reach]


def _numbers_agree(question: str, passage: str) -> bool:
    """A question about 2022 is not answered by a passage that never says 2022 (when it gives
    several numbers, one found is enough: "from 2000 to 2005 against five years before")."""
    asked = _QUESTION_NUMBER.findall(question)
    found = set(re.findall(r"\d+(?:[.,]\d+)*", passage))
    return not asked or any(n in found for n in asked)


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 1.0


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


def abstention(question: str, mode: str = "extractive") -> Answer:
    return Answer(
        text=ABSTAIN_TEXT,
        citations=(),
        abstained=True,
        mode=mode,
        question=question,
        standalone_question=question,
    )


# ---------------------------------------------------------------------------------------------
# Citation verification (LLM replies)

_MARKER = re.compile(r"\s*\[(\d+)\]")
_LEAD_MARKERS = re.compile(r"(?:\s*\[\d+\])+")
_END_PUNCTUATION = re.compile(r"[.!?…]+$")


@dataclass(frozen=True)
class _Claim:
    start: int  # the sentence in the reply, after any markers that cite the one before
    end: int
    body: str  # the sentence without markers
    markers: list[int]


def verify_citations(
    reply: str,
    hits: Sequence[Hit],
    idf: Callable[[str], float] = flat_idf,
    question: str = "",
    mode: str = "llm",
) -> Answer:
    """Keep markers that point to a retrieved passage, renumber them in order of appearance,
    and give each cited passage the sentence that best supports the claims citing it.

    A sentence is supported when the passages it validly cites cover SUPPORT_THRESHOLD of its
    weighted terms. Any other sentence (no marker, only markers to no passage, or a passage
    that does not say it) gets UNSUPPORTED_MARK and is listed in `Answer.unsupported`; a line
    ending in ":" only introduces what follows and claims nothing itself."""
    text = reply.strip()
    if not text or canonical(ABSTAIN_TEXT).rstrip(".") in canonical(text):
        return abstention(question, mode)
    claims = _claims(text)
    renumber: dict[int, int] = {}
    citing: dict[int, list[str]] = {}
    for claim in claims:
        for given in claim.markers:
            if 1 <= given <= len(hits):
                renumber.setdefault(given, len(renumber) + 1)
                citing.setdefault(given, []).append(claim.body)

    def fix(m: re.Match) -> str:
        given = int(m.group(1))
        return f" [{renumber[given]}]" if given in renumber else ""

    pieces: list[str] = []
    unsupported: list[str] = []
    done = 0
    for claim in claims:
        if not claim.body or claim.body.endswith(":"):
            continue
        cited = [hits[g - 1].chunk.text for g in dict.fromkeys(claim.markers) if g in renumber]
        if cited and _covered(claim.body, " ".join(cited), idf):
            continue
        unsupported.append(claim.body)
        sentence = _MARKER.sub(fix, text[claim.start : claim.end])
        cut = _END_PUNCTUATION.search(sentence)
        at = cut.start() if cut else len(sentence)
        pieces += [
            _MARKER.sub(fix, text[done : claim.start]),
            sentence[:at] + UNSUPPORTED_MARK + sentence[at:],
        ]
        done = claim.end
    pieces.append(_MARKER.sub(fix, text[done:]))
    cleaned = "".join(pieces).strip()

    citations = []
    for given, n in sorted(renumber.items(), key=lambda item: item[1]):
        chunk = hits[given - 1].chunk
        overlap = Overlap(" ".join(citing[given]), idf)
        best = max(
            ((overlap(chunk.text[s:e]), s, e) for s, e in split_sentences(chunk.text)),
            default=(0.0, 0, len(chunk.text)),
        )
        cov, s, e = best
        citations.append(
            Citation.of(chunk, n, chunk.start + s, chunk.start + e, cov >= SUPPORT_THRESHOLD)
        )
    return Answer(
        text=cleaned,
        citations=tuple(citations),
        abstained=False,
        mode=mode,
        question=question,
        standalone_question=question,
        short_answer=short_answer_of(cleaned),
        unsupported=tuple(unsupported),
    )


def _covered(claim: str, passages: str, idf: Callable[[str], float]) -> bool:
    overlap = Overlap(claim, idf)
    # A claim of function words only ("**Có** [1]") has nothing to check against the passage.
    return not overlap.weights or overlap(passages) >= SUPPORT_THRESHOLD


def _claims(text: str) -> list[_Claim]:
    """Each sentence of the reply with the markers citing it. A marker that opens a sentence
    ("... Hội nghị. [1] Sau đó") cites the sentence before it."""
    out: list[_Claim] = []
    for s, e in split_sentences(text):
        lead = _LEAD_MARKERS.match(text, s, e)
        if lead and out:
            out[-1].markers.extend(int(n) for n in re.findall(r"\d+", lead.group()))
            s = lead.end()
        sentence = text[s:e]
        markers = [int(m.group(1)) for m in _MARKER.finditer(sentence)]
        body = _MARKER.sub("", sentence).strip()
        if body or markers:
            out.append(_Claim(s, e, body, markers))
    return out


_BOLD = re.compile(r"\*\*(.+?)\*\*|__(.+?)__")
_BULLET = re.compile(r"\s*(?:[-*•+]|\d+[.)])\s")


def short_answer_of(text: str) -> str | None:
    """The direct answer of an LLM reply: the first bold part of its first line, without
    citation markers. None when that line has no bold part, is a list item (lists have no
    short answer) or was found unsupported."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    m = _BOLD.search(first)
    if not m or _BULLET.match(first) or UNSUPPORTED_MARK.strip() in first:
        return None
    return _MARKER.sub("", m.group(1) or m.group(2)).strip(" .,;:") or None
