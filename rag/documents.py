"""Load article files of every supported type: the one entry point of the reading stage.

In: a file or a folder of .txt/.md/.html/.htm/.pdf/.docx. Out: `Article`s (original text, title,
body spans, author, outlet, date, content hash), or a DocumentError with a Vietnamese reason.
Where each step lives: which paths may be read and their bytes in `rag.sources`, bytes to text
by format in `rag.formats`, cleaning and metadata in `rag.cleaning`.
Never changes the displayed text (cleaning only chooses spans; every offset points into
`Article.text`), never reads what `source_problem` refuses, never drops a file without a reason.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from rag.cleaning import analyse, date_in
from rag.errors import DocumentError
from rag.formats import text_of
from rag.sources import (
    MAX_FILE_BYTES,
    SUPPORTED_SUFFIXES,
    doc_id_for,
    iter_document_paths,
    read_source,
    source_problem,
)
from rag.types import Article

__all__ = [
    "MAX_FILE_BYTES",
    "SUPPORTED_SUFFIXES",
    "DocumentError",
    "iter_document_paths",
    "load_document",
    "source_problem",
]


def load_document(path: Path, root: Path, max_bytes: int = MAX_FILE_BYTES) -> Article:
    """Load one file; raises DocumentError (never another exception) when it cannot be ingested."""
    problem = source_problem(path, root, max_bytes)
    if problem:
        raise DocumentError(problem)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise DocumentError(f"loại tệp không được hỗ trợ: {suffix or '(không có đuôi)'}")
    data = read_source(Path(os.path.realpath(path)), max_bytes)
    text, hints = text_of(data, suffix)
    meta = analyse(text, markdown=suffix == ".md", title_hint=hints.get("title"))
    return Article(
        doc_id=doc_id_for(path, root),
        source=str(path.absolute()),
        text=text,
        title=meta.title,
        body=meta.body,
        author=meta.author or hints.get("author"),
        outlet=meta.outlet or hints.get("outlet"),
        date=date_in(hints.get("date")) or meta.date,
        content_hash=hashlib.sha256(data).hexdigest(),
    )
