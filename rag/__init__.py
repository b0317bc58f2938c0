"""Question answering with verified citations over Vietnamese articles.

`rag.Assistant` is the public entry point, and the values it hands out are public types: `Answer`,
`Citation`, `FileOutcome`, `Ingested`, `DocumentInfo`, `Status`. Everything is imported on first
use so that `python -m rag` and the tests start without loading models they do not need.
"""

from __future__ import annotations

_TYPES = ("Answer", "Citation", "DocumentInfo", "FileOutcome", "Ingested", "Status")

__all__ = ["Assistant", "Settings", *_TYPES]


def __getattr__(name: str):
    if name == "Assistant":
        from rag.assistant import Assistant

        return Assistant
    if name in _TYPES:
        from rag import types

        return getattr(types, name)
    if name == "Settings":
        from rag.config import Settings

        return Settings
    raise AttributeError(name)
