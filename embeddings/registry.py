"""What each embedding model expects of its input: prefixes, word segmentation, length.

In: a hub name ("intfloat/multilingual-e5-base") or a local folder path. Out: a `ModelSpec`.
A folder is recognised by its own name, so a copied model keeps its rules. It never loads or
downloads anything; an unknown model gets no rules rather than an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePath


@dataclass(frozen=True)
class ModelSpec:
    """Input rules of one model.

    Attributes:
        name: the model name or folder the rules were looked up for.
        query_prefix: prepended to questions (e5: "query: ").
        passage_prefix: prepended to stored passages (e5: "passage: ").
        segment: whether the model was trained on pyvi-segmented text ("học_sinh").
        max_tokens: the longest input the model was trained on, in its own tokens.
    """

    name: str
    query_prefix: str = ""
    passage_prefix: str = ""
    segment: bool = False
    max_tokens: int = 512


# (pattern on the folder or repository name, rules); the first match wins.
_RULES: tuple[tuple[re.Pattern[str], dict[str, object]], ...] = (
    (
        re.compile(r"^multilingual-e5-(small|base|large)(-instruct)?$"),
        {"query_prefix": "query: ", "passage_prefix": "passage: "},
    ),
    (re.compile(r"^vietnamese-bi-encoder$"), {"segment": True, "max_tokens": 256}),
    (re.compile(r"^bge-m3$"), {"max_tokens": 8192}),
)


def spec_for(name_or_path: str) -> ModelSpec:
    """The input rules for a hub name or a local folder (matched by the folder's name)."""
    # Both "intfloat/multilingual-e5-base" and "/models/multilingual-e5-base/" end in the
    # part that names the model; the organisation or parent folders say nothing about input.
    base = PurePath(name_or_path.rstrip("/\\")).name.lower()
    for pattern, rules in _RULES:
        if pattern.match(base):
            return ModelSpec(name=name_or_path, **rules)  # type: ignore[arg-type]
    return ModelSpec(name=name_or_path)
