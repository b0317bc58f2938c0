"""The persistent vector cache: every vector a model ever made, by the text it was made from.

In: (model name, indexed text) pairs and their float32 vectors. Out: the stored vectors of
texts seen before, so a re-ingest, a restart after a kill or a switch back to a model never
embeds the same text twice. One SQLite file under RAG_DATA_DIR in WAL mode, one commit per
batch: a kill loses at most the batch being embedded. Never consulted by searches.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import numpy as np

_SCHEMA = """
CREATE TABLE IF NOT EXISTS vectors (
    model TEXT NOT NULL,
    text_sha256 BLOB NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (model, text_sha256)
) WITHOUT ROWID
"""
_PARAMS_PER_QUERY = 500  # below SQLite's limit on bound parameters


def text_key(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()


class VectorCache:
    """Vectors of one model, keyed by the sha256 of the exact text that was embedded."""

    def __init__(self, path: Path, model: str, dimension: int):
        self.path = Path(path)
        self.model = model
        self.dimension = dimension
        self._db: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            try:
                db = sqlite3.connect(self.path, timeout=60, check_same_thread=False)
                db.execute("PRAGMA journal_mode=WAL")
                db.execute(_SCHEMA)
                db.commit()
            except sqlite3.DatabaseError:
                # A damaged cache only costs re-embedding: start a new one.
                self.path.unlink(missing_ok=True)
                db = sqlite3.connect(self.path, timeout=60, check_same_thread=False)
                db.execute("PRAGMA journal_mode=WAL")
                db.execute(_SCHEMA)
                db.commit()
            self._db = db
        return self._db

    def get(self, texts: Sequence[str]) -> list[np.ndarray | None]:
        """The cached vector of each text, None where it was never embedded by this model."""
        keys = [text_key(t) for t in texts]
        found: dict[bytes, np.ndarray] = {}
        db = self._connect()
        for i in range(0, len(keys), _PARAMS_PER_QUERY):
            part = keys[i : i + _PARAMS_PER_QUERY]
            rows = db.execute(
                "SELECT text_sha256, vector FROM vectors WHERE model = ? AND text_sha256 IN "
                f"({','.join('?' * len(part))})",
                [self.model, *part],
            )
            for key, blob in rows:
                vector = np.frombuffer(blob, dtype=np.float32)
                if len(vector) == self.dimension:
                    found[key] = vector
        return [found.get(k) for k in keys]

    def put(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        """Store vectors and commit: once this returns, a kill cannot lose them."""
        db = self._connect()
        db.executemany(
            "INSERT OR REPLACE INTO vectors (model, text_sha256, vector) VALUES (?, ?, ?)",
            [
                (self.model, text_key(t), np.asarray(v, dtype=np.float32).tobytes())
                for t, v in zip(texts, vectors, strict=True)
            ],
        )
        db.commit()

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
