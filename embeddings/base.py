"""The one method every embedder writes: `embed_array`, rows of float32 vectors.

In: texts and whether they are questions. Out: LangChain's `embed_documents` and `embed_query`
derived from it, so the three embedders (hashing, bundled e5-small, sentence-transformers)
cannot drift apart in how a question differs from a passage.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from langchain_core.embeddings import Embeddings


class ArrayEmbeddings(Embeddings):
    """A LangChain `Embeddings` whose subclasses implement only `embed_array`."""

    def embed_array(
        self, texts: Sequence[str], *, is_query: bool = False, show_progress: bool | None = None
    ) -> np.ndarray:
        raise NotImplementedError

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_array(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_array([text], is_query=True)[0].tolist()
