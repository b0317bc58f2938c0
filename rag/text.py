"""Vietnamese text primitives: NFC, tone marks, accent folding, tokens, pyvi words, sentences.

Every function takes a `str` and returns a matching form (a string, tokens) or character offsets.
They never change the text a user sees: their output is used only for comparing and indexing, and
`split_sentences` returns offsets into the original string so callers can quote it exactly.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache, lru_cache

_D = str.maketrans({"đ": "d", "Đ": "D"})


def nfc(text: str) -> str:
    """Unicode NFC: the composed form every other function here works on."""
    return unicodedata.normalize("NFC", text)


_INERT = "\u034f"  # COMBINING GRAPHEME JOINER: combining class 0, no letter, not \w


class _FoldTable(dict):
    """Code point -> its first NFD character, filled on first sight so `fold` runs at C speed.
    A combining mark left over after NFC (one that composes with nothing, e.g. a second tone)
    becomes U+034F, which marks nothing and composes with nothing: kept as is it would compose
    with the folded letter before it on the next NFC, and folding twice would differ from once;
    dropped, offsets into the folded text would no longer be offsets into the text."""

    def __missing__(self, code: int) -> str:
        if unicodedata.combining(chr(code)):
            self[code] = _INERT
            return _INERT
        base = unicodedata.normalize("NFD", chr(code))[0].translate(_D)
        self[code] = base
        return base


_FOLD = _FoldTable()


def fold(text: str) -> str:
    """Remove every diacritic (đ -> d), keep case; one output character per NFC input character."""
    return nfc(text).translate(_FOLD)


def has_diacritics(text: str) -> bool:
    """True when folding changes the text (tone marks, ă â ê ô ơ ư or đ present)."""
    return fold(text) != text


# --- tone-mark placement -------------------------------------------------------------------------

_TONE_MARKS = ("\u0300", "\u0301", "\u0309", "\u0303", "\u0323")  # huyền sắc hỏi ngã nặng
_VOWELS = "aăâeêioôơuưy"
_QUALITY_VOWELS = frozenset("ăâêôơư")

_CONSONANTS = "bcdđghklmnpqrstvx"


def _letter_table() -> dict[str, tuple[str, str]]:
    """Every NFC Vietnamese letter -> (the same letter without its tone, the tone mark or "")."""
    table = {ch: (ch, "") for ch in _CONSONANTS + _CONSONANTS.upper()}
    for base in _VOWELS + _VOWELS.upper():
        table[base] = (base, "")
        for mark in _TONE_MARKS:
            table[unicodedata.normalize("NFC", base + mark)] = (base, mark)
    return table


_LETTERS = _letter_table()

_INITIALS = frozenset(
    ("b", "c", "ch", "d", "đ", "g", "gh", "gi", "h", "k", "kh", "l", "m", "n")
    + ("ng", "ngh", "nh", "p", "ph", "qu", "r", "s", "t", "th", "tr", "v", "x")
)
_FINALS = frozenset(["", "c", "ch", "m", "n", "ng", "nh", "p", "t"])
# Only these vowel groups are Vietnamese; anything else (French "où", English words) stays as typed.
_NUCLEI = frozenset(
    ("a", "ă", "â", "e", "ê", "i", "o", "ô", "ơ", "u", "ư", "y", "ai", "ao", "au")
    + ("ay", "âu", "ây", "eo", "êu", "ia", "iê", "iu", "oa", "oă", "oe", "oi", "oo")
    + ("ôi", "ơi", "ua", "uâ", "uê", "ui", "uô", "uơ", "uy", "ưa", "ưi", "ươ", "ưu")
    + ("yê", "iêu", "yêu", "oai", "oao", "oay", "oeo", "uây", "uôi", "ươi", "ươu")
    + ("uyê", "uya", "uyu")
)

# Combining marks after a word could compose with a re-toned vowel and break length preservation.
_SYLLABLE = re.compile(
    r"[^\W\d_]++(?![\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f])"
)


def _split_syllable(bases: str) -> tuple[str, str, str] | None:
    """(initial, vowel nucleus, final) of a toneless lowercase syllable, or None if not Vietnamese."""
    vowel_at = next((i for i, ch in enumerate(bases) if ch in _VOWELS), None)
    if vowel_at is None:
        return None
    initial = bases[:vowel_at]
    end = vowel_at
    while end < len(bases) and bases[end] in _VOWELS:
        end += 1
    nucleus, final = bases[vowel_at:end], bases[end:]
    # In "qu" and "gi" the u/i is part of the consonant (quý, giá, giữ) unless it is the only vowel (gì).
    if initial + nucleus[0] in ("qu", "gi") and len(nucleus) > 1:
        initial, nucleus = initial + nucleus[0], nucleus[1:]
    if initial and initial not in _INITIALS:
        return None
    if nucleus not in _NUCLEI or final not in _FINALS:
        return None
    return initial, nucleus, final


def _tone_position(nucleus: str, final: str) -> int:
    """Index in the nucleus that carries the tone mark under the traditional rule."""
    if "ươ" in nucleus:
        return nucleus.index("ơ")
    for i, ch in enumerate(nucleus):
        if ch in _QUALITY_VOWELS:
            return i
    if len(nucleus) == 3:
        return 1
    if len(nucleus) == 2:
        return 1 if final else 0
    return 0


@lru_cache(maxsize=65536)
def _retone(word: str) -> str:
    letters = [_LETTERS.get(ch) for ch in word]
    if None in letters:
        return word
    marks = [mark for _, mark in letters if mark]
    if len(marks) != 1:
        return word
    bases = "".join(base for base, _ in letters)
    parts = _split_syllable(bases.lower())
    if parts is None:
        return word
    initial, nucleus, final = parts
    target = len(initial) + _tone_position(nucleus, final)
    out = [base for base, _ in letters]
    out[target] = unicodedata.normalize("NFC", out[target] + marks[0])
    return "".join(out)


def normalize_tones(text: str) -> str:
    """NFC, then the tone mark of each Vietnamese syllable on one canonical vowel (hoà -> hòa).

    Length-preserving on NFC text and idempotent; words that are not one Vietnamese syllable,
    digits and punctuation are left exactly as they are.
    """
    return _SYLLABLE.sub(lambda m: _retone(m.group()), nfc(text))


def canonical(text: str) -> str:
    """Lowercase, NFC, canonical tone placement: the form for matching with diacritics."""
    return normalize_tones(text).lower()


_FOLDED_INITIALS = frozenset(fold(x) for x in _INITIALS)
_FOLDED_NUCLEI = frozenset(fold(x) for x in _NUCLEI)
_FOLDED_SYLLABLE = re.compile(
    rf"(?:{'|'.join(sorted(_FOLDED_INITIALS, key=len, reverse=True))})?"
    rf"(?:{'|'.join(sorted(_FOLDED_NUCLEI, key=len, reverse=True))})"
    rf"(?:{'|'.join(sorted(_FINALS - {''}, key=len, reverse=True))})?"
)


def is_vietnamese_syllable(word: str) -> bool:
    """Whether `word`, with or without its diacritics, can be one Vietnamese syllable:
    "truong", "trường" and "the" can; "what", "work" and "city" cannot."""
    return _FOLDED_SYLLABLE.fullmatch(fold(word).lower()) is not None


# --- tokens --------------------------------------------------------------------------------------

# A code or number keeps its inner separators (06-ctr/đuk, 1.000, 13,5); a trailing dot does not.
_TOKEN = re.compile(r"[^\W_]+(?:[-/.,][^\W_]+)*")
_PART = re.compile(r"[^\W_]+")
_SEPARATORS = re.compile(r"[-/.,]")


def word_tokens(text: str) -> list[str]:
    """Canonical lowercase tokens; a compound such as 06-ctr/đuk is followed by its parts."""
    tokens: list[str] = []
    for token in _TOKEN.findall(canonical(text)):
        tokens.append(token)
        if _SEPARATORS.search(token):
            tokens.extend(_PART.findall(token))
    return tokens


def folded_tokens(text: str) -> list[str]:
    """`word_tokens` without diacritics, so a query typed without accents still matches."""
    return word_tokens(fold(text))


@cache
def _vi_tokenizer():
    # pyvi loads its CRF model on import (seconds); only callers that segment should pay for it.
    from pyvi import ViTokenizer

    return ViTokenizer


def segment_words(text: str) -> list[str]:
    """pyvi words (syllables joined by "_"), canonical lowercase, punctuation-only tokens dropped."""
    # Tones are normalised first so that "Đảng uỷ" and "Đảng ủy" reach the model as the same input.
    segmented = _vi_tokenizer().tokenize(normalize_tones(text))
    return [token.lower() for token in segmented.split() if _PART.search(token)]


# --- sentences -----------------------------------------------------------------------------------

_LINE_BREAKS = "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"
_CLOSERS = "”\"'’)]»"
_OPENERS = "“\"'‘([«"
# A line break, or end punctuation (plus closing quotes/brackets) followed by spaces and a character.
_BOUNDARY = re.compile(
    rf"[{_LINE_BREAKS}]|[.!?…]+[{re.escape(_CLOSERS)}]*(?=[^\S{_LINE_BREAKS}]+(\S))"
)
_ABBREVIATIONS = frozenset(
    ("TP", "Tp", "Q", "P", "TX", "Tx", "TS", "Ts", "ThS", "Ths", "Th.S", "PGS")
    + ("GS", "BS", "KS", "NXB", "Nxb", "St", "Mr", "Mrs", "Ms", "Dr", "Prof", "v.v")
    + ("tr",)
)
_ENUMERATOR = re.compile(r"\d+|[IVXLC]+")
# Abbreviations and initials are short; looking further back for one would only cost time.
_MAX_ABBREVIATION = 8


def _is_abbreviation(text: str, dot: int, sentence_start: int) -> bool:
    """Whether the "." at `dot` closes an abbreviation, an initial or a list number (not a sentence)."""
    start = dot
    while start > sentence_start and not text[start - 1].isspace():
        start -= 1
        if dot - start > _MAX_ABBREVIATION:
            return False
    word = text[start:dot].lstrip(_OPENERS)
    if word in _ABBREVIATIONS:
        return True
    if word and all(len(part) == 1 and part.isupper() for part in word.split(".")):
        return True
    # "1. Nâng cao ..." or "II. Nhiệm vụ" at the start of a line numbers an item.
    return _ENUMERATOR.fullmatch(word) is not None and not text[sentence_start:start].strip()


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans (start, end) into `text` itself, in order, stripped, non-overlapping.

    Every non-whitespace character is in exactly one span. A line break always ends a sentence;
    inside a line, ". ! ? …" end one when spaces and an uppercase letter, digit or opening quote
    follow, except after abbreviations (TP. Hà Nội), initials (N. Đoan) and list numbers.
    """
    cuts = []
    sentence_start = 0
    for match in _BOUNDARY.finditer(text):
        if match.group(1) is None:
            cut = match.start()
        else:
            following = match.group(1)
            if not (following.isupper() or following.isdigit() or following in _OPENERS):
                continue
            punctuation = match.group().rstrip(_CLOSERS)
            if punctuation == "." and _is_abbreviation(text, match.start(), sentence_start):
                continue
            cut = match.end()
        cuts.append(cut)
        sentence_start = cut
    cuts.append(len(text))

    spans = []
    start = 0
    for end in cuts:
        while start < end and text[start].isspace():
            start += 1
        stop = end
        while stop > start and text[stop - 1].isspace():
            stop -= 1
        if start < stop:
            spans.append((start, stop))
        start = end
    return spans
