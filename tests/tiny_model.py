"""The tests' tiny model: a 2-layer, 32-wide random BERT built from the given texts, loaded
offline through the real sentence-transformers path (see eval/random_bert.py)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from eval.random_bert import build_random_bert


def build_tiny_model(dest: Path, texts: Iterable[str]) -> Path:
    return build_random_bert(dest, texts)
