"""The committed snapshot: what readers see, written and made current as one unit.

In: documents' records, their chunks in a fixed order and each chunk's BM25 tokens. Out: a
`Snapshot` (records, chunks, tokens, BM25 index, filter masks) and the folder that holds its
generations: `home/gen-<ns>/` written whole, then made current by one atomic rename of `CURRENT`.
Never changes chunk text, and never leaves a half-written generation current.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import time
from pathlib import Path

import numpy as np

from rag.errors import StoreError
from rag.filters import Filters, columns
from rag.lexical import LexicalIndex, index_tokens
from rag.types import Chunk

# Bump when loading, cleaning or chunking changes what a file turns into: every file re-ingests.
PIPELINE_VERSION = 1

Tokens = list[tuple[list[str], list[str]]]


class Snapshot:
    """What readers see: documents, chunks in a fixed order, their tokens and the BM25 index."""

    def __init__(
        self,
        docs: dict[str, dict],
        chunks: list[Chunk],
        tokens: Tokens | Path,
        lexical: LexicalIndex | None = None,
        root: str | None = None,
    ):
        self.docs = docs
        self.chunks = chunks
        # The folder the index mirrors (its last full sync), for `info` and for a moved corpus.
        self.root = root
        # Rebuilt in memory from an intact half after damage: the next sync commits it.
        self.repaired = False
        # A loaded snapshot reads its tokens only when a sync needs them: searching never
        # does, and at 100,000 passages they are most of the load time and memory.
        self._tokens = tokens
        if lexical is None:
            lexical = LexicalIndex.build(self.tokens)
        self.lexical = lexical
        self.position = {c.chunk_id: i for i, c in enumerate(chunks)}
        self._fields = columns(chunks)

    @property
    def tokens(self) -> Tokens:
        """Per chunk, the (words, folded) tokens its BM25 rows were built from."""
        if isinstance(self._tokens, Path):
            with open(self._tokens, "rb") as f:
                tokens = pickle.load(f)
            if len(tokens) != len(self.chunks):
                raise StoreError(f"{self._tokens}: token list and chunk list disagree")
            self._tokens = tokens
        return self._tokens

    @classmethod
    def empty(cls) -> Snapshot:
        return cls({}, [], [])

    @classmethod
    def repaired_from(
        cls, docs: dict[str, dict], chunks: list[Chunk], root: str | None
    ) -> Snapshot:
        """A snapshot rebuilt in memory from records that survived damage: tokenized here, in
        this process (a reader repairing starts no workers), and marked for the next sync."""
        snapshot = cls(docs, chunks, [index_tokens(c.indexed_text) for c in chunks], root=root)
        snapshot.repaired = True
        return snapshot

    def mask(self, filters: Filters | None) -> np.ndarray | None:
        """Boolean row mask for the lexical scores; None when nothing filters."""
        return filters.mask(self._fields) if filters else None

    def write(self, folder: Path) -> None:
        folder.mkdir(parents=True)
        rows = [
            (
                c.chunk_id,
                c.doc_id,
                c.index,
                c.text,
                c.start,
                c.end,
                c.title,
                c.outlet,
                c.date,
                c.author,
            )
            for c in self.chunks
        ]
        with open(folder / "chunks.pkl", "wb") as f:
            pickle.dump({"rows": rows}, f, protocol=5)
        with open(folder / "tokens.pkl", "wb") as f:
            pickle.dump(self.tokens, f, protocol=5)
        self.lexical.save(folder)
        _write_json(
            folder / "manifest.json",
            {
                "pipeline": PIPELINE_VERSION,
                "root": self.root,
                "docs": self.docs,
                "chunks": len(rows),
            },
        )

    @staticmethod
    def load_records(folder: Path) -> tuple[dict, list[Chunk]]:
        """The manifest and the chunk list, without the BM25 index."""
        manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
        with open(folder / "chunks.pkl", "rb") as f:
            chunks = [Chunk(*row) for row in pickle.load(f)["rows"]]
        if manifest.get("chunks") != len(chunks):
            raise ValueError(f"{folder}: manifest and chunk list disagree")
        return manifest, chunks

    @classmethod
    def load(cls, folder: Path) -> Snapshot:
        manifest, chunks = cls.load_records(folder)
        lexical = LexicalIndex.load(folder, len(chunks))
        tokens = folder / "tokens.pkl"
        if not tokens.is_file():
            raise ValueError(f"{folder}: tokens.pkl is missing")
        return cls(manifest["docs"], chunks, tokens, lexical, manifest.get("root"))


# -- the generations folder ----------------------------------------------------------------------
def current_key(home: Path) -> tuple | None:
    """Changes whenever any process commits a snapshot under `home`; None when none is."""
    try:
        stat = (home / "CURRENT").stat()
    except FileNotFoundError:
        return None
    return (stat.st_mtime_ns, stat.st_size, stat.st_ino)


def current_folder(home: Path) -> Path:
    """The folder of the committed generation (`current_key` said there is one)."""
    return home / (home / "CURRENT").read_text("utf-8").strip()


def commit(home: Path, snapshot: Snapshot) -> tuple:
    """Write the snapshot to a new folder and make it current with one atomic rename; a write
    that fails (a full disk) leaves the previous snapshot current and no debris. Returns the
    new `current_key`."""
    home.mkdir(parents=True, exist_ok=True)
    name = f"gen-{time.time_ns()}"
    tmp = home / "CURRENT.tmp"
    try:
        snapshot.write(home / name)
        tmp.write_text(name, "utf-8")
        os.replace(tmp, home / "CURRENT")
    except BaseException:
        shutil.rmtree(home / name, ignore_errors=True)
        tmp.unlink(missing_ok=True)
        raise
    snapshot.repaired = False
    key = current_key(home)
    _prune(home, keep=name)
    return key


def drop_all(home: Path) -> None:
    """No snapshot is current any more and no generation is left (a rebuild starts afresh)."""
    (home / "CURRENT").unlink(missing_ok=True)
    for old in home.glob("gen-*"):
        shutil.rmtree(old, ignore_errors=True)


def _prune(home: Path, keep: str) -> None:
    """Drop old generations, keeping the newest older one for readers still loading it."""
    old = sorted((p for p in home.glob("gen-*") if p.name != keep), key=lambda p: p.name)
    for path in old[:-1]:
        shutil.rmtree(path, ignore_errors=True)


def _write_json(path: Path, payload: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload, ensure_ascii=False), "utf-8")
    os.replace(tmp, path)
