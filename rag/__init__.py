"""Question answering with verified citations over Vietnamese articles.

`rag.Assistant` is the public entry point; it is imported on first use so that `python -m rag`
and the tests start without loading models they do not need.
"""

from __future__ import annotations

__all__ = ["Assistant", "Answer", "Citation", "Settings"]


def __getattr__(name: str):
    if name == "Assistant":
        from rag.assistant import Assistant

        return Assistant
    if name in ("Answer", "Citation"):
        from rag import types

        return getattr(types, name)
    if name == "Settings":
        from rag.config import Settings

        return Settings
    raise AttributeError(name)
