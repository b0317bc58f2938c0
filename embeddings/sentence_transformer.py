"""A sentence-transformers model as a LangChain `Embeddings`, with the model's input rules.

In: texts (passages or questions). Out: L2-normalised float32 vectors from the model, after the
rules of its `ModelSpec` (e5's "query: "/"passage: " prefixes, pyvi word segmentation).
It never downloads unless asked (`local_files_only=False`) and never changes the caller's texts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from embeddings.base import ArrayEmbeddings
from embeddings.registry import ModelSpec, spec_for

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

# Below this many texts a progress bar is noise (a question, a handful of new chunks).
PROGRESS_BAR_MIN_TEXTS = 256


class SentenceTransformerEmbeddings(ArrayEmbeddings):
    """Embeds with `sentence_transformers.SentenceTransformer`.

    Args:
        model_name_or_path: a hub name (looked up in the local Hugging Face cache) or a folder.
        spec: the model's input rules; looked up by `spec_for(model_name_or_path)` if omitted.
        device: "cpu", "cuda", ...; the GPU when one is available if omitted.
        batch_size: texts per forward pass.
        local_files_only: never contact the Hugging Face Hub (the default).
    """

    def __init__(
        self,
        model_name_or_path: str,
        *,
        spec: ModelSpec | None = None,
        device: str | None = None,
        batch_size: int = 32,
        local_files_only: bool = True,
    ) -> None:
        # Imported here so that the offline `hashing` embedder never pays for torch.
        import torch
        from sentence_transformers import SentenceTransformer

        self.name = model_name_or_path
        self.spec = spec if spec is not None else spec_for(model_name_or_path)
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.batch_size = batch_size
        self.model: SentenceTransformer = SentenceTransformer(
            model_name_or_path, device=self.device, local_files_only=local_files_only
        )
        self.dimension: int = self.model.get_embedding_dimension()
        model_limit = self.model.max_seq_length or self.spec.max_tokens
        self.max_tokens: int = min(self.spec.max_tokens, model_limit)
        # Truncate where the model was trained to stop, even if its positions reach further.
        self.model.max_seq_length = self.max_tokens

    def embed_array(
        self, texts: Sequence[str], *, is_query: bool = False, show_progress: bool | None = None
    ) -> np.ndarray:
        """Vectors of `texts` as a float32 array of shape (len(texts), dimension). The progress
        bar shows for long lists unless `show_progress` says otherwise (a caller reporting its
        own progress batch by batch turns it off)."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        inputs = self._segment(texts) if self.spec.segment else texts
        prefix = self.spec.query_prefix if is_query else self.spec.passage_prefix
        # The prefix goes in as encode's prompt: sentence-transformers prepends it while
        # tokenising, so no prefixed copy of every text is built here.
        vectors = self.model.encode(
            inputs if isinstance(inputs, list) else list(inputs),
            prompt=prefix or None,
            batch_size=self.batch_size,
            show_progress_bar=(
                len(texts) >= PROGRESS_BAR_MIN_TEXTS if show_progress is None else show_progress
            ),
            normalize_embeddings=True,
            convert_to_numpy=True,
        )
        return np.asarray(vectors, dtype=np.float32)

    def count_tokens(self, text: str) -> int:
        """Tokens the model sees for `text` as a passage body: segmented if the model needs it,
        without the prefix and without special tokens, before truncation."""
        if self.spec.segment:
            text = self._segment([text])[0]
        encoded = self.model.tokenizer(
            text,
            add_special_tokens=False,
            truncation=False,
            return_attention_mask=False,
            return_token_type_ids=False,
            verbose=False,
        )
        return len(encoded["input_ids"])

    @staticmethod
    def _segment(texts: Sequence[str]) -> list[str]:
        # pyvi loads its CRF model on import, so only the models that need it pay for it.
        from pyvi import ViTokenizer

        return [ViTokenizer.tokenize(text) for text in texts]
