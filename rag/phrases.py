"""The one phrase matcher "with or without diacritics", and the one list of question words.

In: a regex written with diacritics (lowercase, canonical tone placement) and a text as typed.
Out: its matches on the canonical lowercase text, or, when the text was typed without marks,
the matches of the folded regex on the folded lowercase text (same length, so offsets agree);
the question-word phrases every answerer asks about (why, how, list, yes/no, what).
Never changes the text a user sees: `sub` returns the text as typed with the matches blanked.
"""

from __future__ import annotations

import re

from rag.text import canonical, fold, has_diacritics, nfc

# A phrase starts and ends at a word boundary (\b treats combining marks unevenly).
W, E = r"(?<!\w)", r"(?!\w)"


def form(text: str) -> str:
    """The form a `Phrases` pattern is matched on: canonical lowercase, or folded lowercase
    for a text typed without diacritics (a folded pattern then matches it)."""
    return canonical(text) if has_diacritics(text) else fold(text).lower()


class Phrases:
    """One regex written with diacritics, matched on the canonical text, or in its folded form
    on a text typed without marks ("vi sao" is "vì sao")."""

    def __init__(self, pattern: str):
        self.marked = re.compile(pattern)
        self.folded = re.compile(fold(pattern))

    def pick(self, text: str) -> tuple[re.Pattern[str], str]:
        """The pattern that fits how `text` was typed, and the form of `text` it matches."""
        if has_diacritics(text):
            return self.marked, canonical(text)
        return self.folded, fold(text).lower()

    def search(self, text: str) -> re.Match[str] | None:
        pattern, shape = self.pick(text)
        return pattern.search(shape)

    def sub(self, text: str) -> str:
        """`text` as typed (NFC), with every match replaced by a space."""
        original = nfc(text)
        pattern, shape = self.pick(original)
        if len(shape) != len(original):  # a rare letter whose lowercase is longer
            original = shape
        out, at = [], 0
        for m in pattern.finditer(shape):
            out += [original[at : m.start()], " "]
            at = m.end()
        return "".join(out) + original[at:]


# --- question words: what a question's wording asks for -------------------------------------

WHY_WORDS = (
    "vì sao|tại sao|do đâu|vì đâu|vì lý do gì|vì lí do gì|lý do|lí do|nguyên nhân|vì lẽ gì"
    "|để làm gì|mục đích"
)
HOW_WORDS = (
    "như thế nào|thế nào|bằng cách nào|làm thế nào|làm sao|bằng cách gì|bằng những cách nào"
    "|theo cách nào|ra sao|bằng gì"
)
WHY = Phrases(rf"{W}(?:{WHY_WORDS}){E}")
HOW = Phrases(rf"{W}(?:{HOW_WORDS}){E}")
LIST = Phrases(
    rf"{W}(?:(?:những|các)\s+(?:\w+\s+){{1,4}}?nào|gồm những gì|gồm những ai|bao gồm những gì"
    rf"|gồm gì|những gì|liệt kê|kể tên(?! một{E})){E}"
)
YES_NO = Phrases(
    rf"{W}(?:có phải|phải không|đúng không|phải chăng|(?:có|đã|được|bị)\s(?:.+\s)?(?:không|chưa)"
    rf"\s*[?.!]*\s*$){E}"
)
WHAT = Phrases(rf"{W}(?:là gì|gì|cái nào|điều nào|loại nào|nào){E}")
# The words that only ask (removed before scoring evidence, so they do not count as missing).
ASKING = Phrases(
    rf"{W}(?:{WHY_WORDS}|{HOW_WORDS}|gồm những gì|bao gồm|gồm|những gì|liệt kê"
    rf"|kể tên|có phải|phải không|đúng không|phải chăng|không\s*[?.!]*\s*$|chưa\s*[?.!]*\s*$){E}"
)

__all__ = ["ASKING", "HOW", "LIST", "WHAT", "WHY", "YES_NO", "Phrases", "form"]
