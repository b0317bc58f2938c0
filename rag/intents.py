"""What a message asks for, before anything is retrieved.

In: the user's message (with or without diacritics) and, optionally, the names the collection's
metadata holds (outlets, authors). Out: an `Intent`: small talk (greeting, thanks, help), a question
about the collection itself, a summary, a comparison, or a factoid question for the answerer, and
whether the message is written in another language than Vietnamese.
Never decides from words of one collection: metadata names come from the caller.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from rag.phrases import E, W, form
from rag.phrases import Phrases as _Phrases
from rag.text import canonical, fold, has_diacritics, is_vietnamese_syllable, nfc

GREETING, THANKS, HELP = "greeting", "thanks", "help"
COLLECTION, SUMMARY, COMPARISON, FACTOID = "collection", "summary", "comparison", "factoid"
SMALL_TALK = (GREETING, THANKS, HELP)


@dataclass(frozen=True)
class LanguageScore:
    """Words that read as Vietnamese vs words that cannot be Vietnamese syllables."""

    vietnamese: int
    other: int

    @property
    def share(self) -> float:
        """Share of Vietnamese words among the words that tell; 1.0 when none tells."""
        total = self.vietnamese + self.other
        return self.vietnamese / total if total else 1.0

    @property
    def is_vietnamese(self) -> bool:
        return self.share >= 0.5


@dataclass(frozen=True)
class Intent:
    """kind: one of SMALL_TALK (GREETING, THANKS, HELP), COLLECTION, SUMMARY, COMPARISON,
    FACTOID; any of them may be foreign (asked in another language).
    ask: for COLLECTION, what about it ("count", "author", "date", "outlet", "list").
    topic: the words left once the asking phrase is removed (what to summarise or compare).
    foreign: the message is not in Vietnamese."""

    kind: str
    ask: str | None = None
    topic: str = ""
    foreign: bool = False


# --- language --------------------------------------------------------------------------------

# English function words that are also spelled like Vietnamese syllables ("to" tổ, "the" thế, "an"
# ăn): typed without marks they tell nothing either way.
_ENGLISH_FUNCTION = frozenset(
    "a an the to in on at of for from by with and or but is are was were be been do does did "
    "what who whom whose which when where why how many much this that these those it its "
    "there their they he she his her you your my me we our can could will would should about "
    "into than as not no yes please tell give list".split()
)
_WORD = re.compile(r"[^\W\d_]+")


def language_score(text: str) -> LanguageScore:
    """Count words spelled as Vietnamese syllables against words no Vietnamese syllable spells.

    Names and acronyms (a capital not at the start) and English function words that are also
    Vietnamese spellings do not count."""
    vietnamese = other = 0
    for i, match in enumerate(_WORD.finditer(text)):
        word = match.group()
        if (i > 0 and not word.islower()) or (len(word) > 1 and word.isupper()):
            continue
        lower = word.lower()
        if not is_vietnamese_syllable(lower):
            other += 1
        elif has_diacritics(lower) or lower not in _ENGLISH_FUNCTION:
            vietnamese += 1
    return LanguageScore(vietnamese, other)


# --- phrases ---------------------------------------------------------------------------------


# One phrase matcher with or without diacritics, and its word boundaries (rag.phrases).
_form = form
_W, _E = W, E

_GREETING = _Phrases(
    rf"{_W}(?:xin chào|chào|hello|hi|hey|alo|good (?:morning|afternoon|evening))"
    rf"(?: buổi (?:sáng|trưa|chiều|tối))?{_E}"
)
_THANKS = _Phrases(rf"{_W}(?:cảm ơn|cám ơn|thanks?(?: you)?|thank you|tks|tạm biệt|bye){_E}")
_HELP = _Phrases(
    rf"{_W}(?:(?:bạn|em|trợ lý|mày|cậu)\s+(?:có thể\s+)?(?:giúp|làm|hỗ trợ|trả lời)"
    rf"(?:\s+(?:được|tôi|mình|cho tôi|cho mình))*\s+(?:gì|những gì|việc gì|điều gì)"
    rf"|(?:bạn|em) là ai|(?:bạn|em) là gì"
    rf"|(?:tôi|mình) (?:có thể|nên|được) hỏi (?:gì|những gì|điều gì)"
    rf"|hỏi (?:gì|những gì) được|hướng dẫn(?: sử dụng)?|trợ giúp|giúp (?:tôi|mình) với"
    rf"|help|what can you do){_E}"
)
# What is left of a greeting once its phrase is gone: addressing words and particles.
_FILLER = frozenset(
    canonical(w)
    for w in "bạn ơi nhé nha ạ à nhỉ vậy nhiều rất lắm trợ lý em anh chị mình tôi cho "
    "đã rất the rồi ok okay vâng dạ được thì".split()
)

_DOC_NOUN = r"(?:bài viết|bài báo|bài|tài liệu|văn bản|tệp|tin bài|bản tin)"
# "Khác nhau" also means "various" ("nhiều đội khác nhau"): only as the predicate asked about.
_HOW = r"(?:thế nào|như thế nào|ra sao|ở điểm nào|ở chỗ nào|chỗ nào|điểm nào|gì|không|ở đâu)"
_COMPARISON = _Phrases(
    rf"{_W}(?:so sánh|(?:khác nhau|giống nhau|khác biệt)\s+{_HOW}|khác gì|(?:những\s+)?điểm"
    rf" (?:khác|giống)|(?:sự\s+)?khác biệt (?:giữa|của)|giống và khác|khác và giống"
    rf"|có gì (?:khác|giống)){_E}"
)
_SUMMARY = _Phrases(
    rf"{_W}(?<!bản )(?:tóm tắt|tóm lược|nội dung chính|ý chính|điểm chính|những điểm nổi bật"
    rf"|khái quát|{_DOC_NOUN}(?:\s+\S+){{0,6}}?\s+(?:nói|đề cập|bàn)\s+(?:về|đến|tới)?\s*"
    rf"(?:những\s+)?(?:gì|điều gì|vấn đề gì|chuyện gì|nội dung gì)"
    rf"|{_DOC_NOUN}(?:\s+\S+){{0,6}}?\s+có nội dung (?:gì|ra sao|thế nào)){_E}"
)
# The words of a summary request, removed to leave what is to be summarised.
_SUMMARY_WORDS = _Phrases(
    rf"{_W}(?:tóm tắt|tóm lược|nội dung chính|ý chính|điểm chính|những điểm nổi bật|khái quát"
    rf"|nói|đề cập|bàn|có nội dung|điều gì|vấn đề gì|chuyện gì|nội dung gì|ra sao|thế nào"
    rf"|đến|tới|ngắn gọn|giúp|lại){_E}"
)

# Collection questions: the asking phrase, then a test that nothing but talk about documents
# and the collection's own names is left.
_COUNT = _Phrases(rf"{_W}(?:bao nhiêu|mấy|số lượng)\s+{_DOC_NOUN}{_E}")
_AUTHOR = _Phrases(
    rf"{_W}(?:ai (?:đã\s+)?viết|ai là (?:tác giả|người viết)|do ai viết|(?:tác giả|người viết)"
    rf"(?:\s+của)?\s+{_DOC_NOUN}|(?:tác giả|người viết)(?:\s+\S+){{0,8}}?\s+là ai){_E}"
)
_WHEN = _Phrases(
    rf"{_W}(?:đăng|xuất bản|công bố|phát hành|(?<!bài )viết)\s+(?:vào\s+|lúc\s+|từ\s+)?"
    rf"(?:ngày nào|khi nào|bao giờ|lúc nào|năm nào|tháng nào|hôm nào|thời gian nào){_E}"
    rf"|{_W}(?:ngày|thời gian) (?:đăng|xuất bản|công bố|phát hành){_E}"
)
_OUTLET = _Phrases(
    rf"{_W}(?:(?:của|trên|từ|thuộc)\s+)?(?:báo nào|nguồn nào|trang nào|tờ báo nào|cơ quan báo"
    rf" chí nào|đăng (?:ở|trên) đâu|từ đâu|nguồn (?:ở|từ) đâu|nguồn gốc|xuất xứ){_E}"
)
_LIST = _Phrases(
    rf"{_W}(?:(?:những|các|tất cả(?: các)?|mỗi|từng)\s+{_DOC_NOUN}|{_DOC_NOUN}\s+nào"
    rf"|danh sách|liệt kê){_E}"
)
_DOC = _Phrases(rf"{_W}{_DOC_NOUN}{_E}")
# A bare "bài" is also a song, a poem, a lesson ("bài hát", "bài thơ", "bài học"): it is an
# article when a title, a quote or a word that points at a text follows.
_BARE_BAI = _Phrases(
    rf"{_W}bài(?=\s*[«“\"']|\s*[?.!]*$|\s+(?:nào|này|đó|ấy|kia|của|do|về|được|đã|đăng|trên"
    rf"|từ|nói|có|gì|thì|không)(?!\w))"
)
# Words of talk about documents: what may remain of a collection question besides names.
_DOC_TALK = frozenset(
    canonical(w)
    for w in """
có bao nhiêu mấy bài viết báo tài liệu văn bản tệp tin bản trong kho bộ sưu tập hệ
thống đã được nạp tải lên tất cả tổng cộng hiện nay bạn của tôi mình ở đây này đó kia là nào
những các gì về nói đăng xuất công bố phát hành ngày tháng năm do ai tác giả người nguồn từ trên
tờ vào thì chủ đề vấn nội dung danh sách liệt kê cho biết hãy xem gồm mỗi từng một chỉ hay
thuộc trang web lúc khi bao giờ hôm thời gian gốc xứ ra sao thế như vậy chung chính
""".split()
)
_FOLDED_DOC_TALK = frozenset(fold(w) for w in _DOC_TALK)


def route(message: str, names: Iterable[str] = ()) -> Intent:
    """The intent of `message`. `names`: the collection's outlets and authors, which a question
    about the collection may name (titles are matched later, by the collection answerer)."""
    language = language_score(message)
    foreign = not language.is_vietnamese
    small = _small_talk(message)
    if small is not None:
        return Intent(small, foreign=foreign)
    if foreign:
        return _english(message, names)
    if _COMPARISON.search(message):
        return Intent(COMPARISON, topic=_rest(_COMPARISON.sub(message)))
    asked = _collection_ask(message, names)
    if asked is not None:
        return Intent(COLLECTION, ask=asked[0], topic=asked[1])
    if _SUMMARY.search(message):
        return Intent(SUMMARY, topic=_topic(_SUMMARY_WORDS.sub(message), names))
    return Intent(FACTOID, topic=message)


# The same kinds asked in English, the other language users of a Vietnamese collection write
# most; the answer is still made of the Vietnamese documents.
_ENGLISH = (
    (COMPARISON, None, re.compile(r"\b(?:compare|comparison|differences?|differ|similarities)\b")),
    (COLLECTION, "count", re.compile(r"\bhow many (?:articles|documents|files|texts|papers)\b")),
    (COLLECTION, "author", re.compile(r"\bwho (?:wrote|is the author of|authored)\b")),
    (COLLECTION, "date", re.compile(r"\bwhen was (?:the|this|that)? ?(?:article|document)\b")),
    (COLLECTION, "list", re.compile(r"\b(?:which|what|list (?:the|all)) (?:articles|documents)\b")),
    (
        SUMMARY,
        None,
        re.compile(
            r"\b(?:summari[sz]e|summary|main points?|gist|what (?:is|are) (?:the|this|these|that)"
            r" (?:articles?|documents?|texts?|papers?) about)\b"
        ),
    ),
)
_ENGLISH_TALK = re.compile(
    r"\b(?:the|a|an|this|that|these|those|of|in|on|about|article|articles|document|documents|"
    r"please|me|give|tell|what|is|are|was|were|do|does|did|main|points?|between|with|there|"
    r"from|by|for|to|all|list|which)\b"
)


def _english(message: str, names: Iterable[str]) -> Intent:
    lowered = message.lower()
    for kind, ask, pattern in _ENGLISH:
        if pattern.search(lowered):
            topic = _ENGLISH_TALK.sub(" ", pattern.sub(" ", lowered))
            for name in names:
                topic = topic.replace(name.lower(), " ")
            return Intent(kind, ask=ask, topic=_rest(re.sub(r"[^\w\s]", " ", topic)), foreign=True)
    return Intent(FACTOID, topic=message, foreign=True)


def _small_talk(message: str) -> str | None:
    """GREETING / THANKS / HELP when the message is only that (plus particles and address)."""
    found = None
    rest = message
    for kind, phrases in ((HELP, _HELP), (THANKS, _THANKS), (GREETING, _GREETING)):
        if phrases.search(rest):
            found = found or kind
            rest = phrases.sub(rest)
    if found is None:
        return None
    filler = _FILLER if has_diacritics(message) else {fold(w) for w in _FILLER}
    left = [w for w in _WORD.findall(_form(rest)) if w not in filler]
    return found if not left else None


def _mentions_document(message: str) -> bool:
    original = nfc(message)
    form = _form(original)
    for m in _DOC.pick(original)[0].finditer(form):
        if m.group() not in ("bài", "bai") or _BARE_BAI.pick(original)[0].match(form, m.start()):
            return True
        rest = original[m.end() :].lstrip() if len(form) == len(original) else ""
        if rest[:1].isupper():  # a title typed without quotes
            return True
    return False


def _collection_ask(message: str, names: Iterable[str]) -> tuple[str, str] | None:
    """(what is asked, the words left to name the article by) of a collection question."""
    if not _mentions_document(message):
        return None
    for ask, phrases in (
        ("count", _COUNT),
        ("author", _AUTHOR),
        ("date", _WHEN),
        ("outlet", _OUTLET),
        ("list", _LIST),
    ):
        if phrases.search(message):
            left = _topic(phrases.sub(message), names)
            # A count or a list is about the whole collection (or one outlet, author or date);
            # the others may name their article by words of its title, checked by the caller.
            if ask in ("count", "list") and left:
                return None
            return ask, left
    return None


_DATE_TEXT = re.compile(
    r"(?:(?:ngày|ngay)\s+)?(?<!\d)\d{1,4}[/-]\d{1,2}(?:[/-]\d{1,4})?(?!\d)"
    r"|(?:ngày|ngay)\s+\d{1,2}(?:\s+(?:tháng|thang)\s+\d{1,2})?(?:\s+(?:năm|nam)\s+\d{4})?"
    r"|(?:tháng|thang)\s+\d{1,2}(?:\s*(?:/|năm|nam)\s*\d{4})?|(?:năm|nam)\s+\d{4}"
    r"|(?<!\d)(?:19|20)\d{2}(?!\d)"
)


def _topic(message: str, names: Iterable[str]) -> str:
    """The words of `message` that are neither talk about documents, a date nor one of `names`."""
    marked = has_diacritics(message)
    text = _form(message)
    for name in sorted(names, key=len, reverse=True):
        form = canonical(name) if marked else fold(canonical(name))
        if form:
            text = re.sub(rf"(?<!\w){re.escape(form)}(?!\w)", " ", text)
    text = _DATE_TEXT.sub(" ", text)
    talk = _DOC_TALK if marked else _FOLDED_DOC_TALK
    words = _without_run_together(re.findall(r"[^\W_]+", text), names)
    return " ".join(w for w in words if w not in talk)


# Joining words a name may be spelled out with ("Kinh tế và Đô thị" for "Kinhtedothi").
_JOINS = frozenset(("va", "and"))


def _without_run_together(words: list[str], names: Iterable[str]) -> list[str]:
    """`words` without any run of them that spells one of `names` once spaces, marks and
    "và" are dropped on both sides ("kinh tế và đô thị" spells "Kinhtedothi")."""
    spelled = {
        "".join(w for w in re.findall(r"[^\W_]+", fold(n).lower()) if w not in _JOINS)
        for n in names
    }
    spelled = {n for n in spelled if len(n) >= 4}
    folded = [fold(w).lower() for w in words]
    for i in range(len(words)):
        joined = ""
        for j in range(i, len(words)):
            joined += "" if folded[j] in _JOINS else folded[j]
            if joined in spelled:
                return words[:i] + _without_run_together(words[j + 1 :], names)
            if len(joined) > max(map(len, spelled), default=0):
                break
    return words


def _rest(text: str) -> str:
    return " ".join(text.split()).strip(" ?.!,:")


__all__ = [
    "COLLECTION",
    "COMPARISON",
    "FACTOID",
    "GREETING",
    "HELP",
    "SMALL_TALK",
    "SUMMARY",
    "THANKS",
    "Intent",
    "LanguageScore",
    "language_score",
    "route",
]
