"""Random-weight BERT sentence-transformers models built from text, for places where no real
model can be downloaded: the tests (tiny) and the benchmark's embedding check (realistic size).

In: a destination folder and some Vietnamese texts. Out: a folder that
`SentenceTransformer(str(dest))` loads offline (BERT, mean pooling, normalised). The weights are
random with a fixed seed: vectors are stable, not meaningful.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterable
from pathlib import Path

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
# BERT's pre-tokenizer splits punctuation into its own tokens, so words are runs of \w.
_WORD = re.compile(r"\w+")


def build_vocab(texts: Iterable[str]) -> list[str]:
    """Special tokens, then every lowercased syllable, then its characters as ##pieces."""
    syllables: set[str] = set()
    for text in texts:
        syllables.update(_WORD.findall(text.lower()))
    chars = {ch for syllable in syllables for ch in syllable}
    # Single characters (plain and ##continuation) let WordPiece spell any unseen word in them.
    pieces = sorted(chars) + sorted(f"##{ch}" for ch in chars)
    return [*SPECIAL_TOKENS, *pieces, *sorted(syllables - chars)]


def build_random_bert(
    dest: Path,
    texts: Iterable[str],
    *,
    hidden: int = 32,
    layers: int = 2,
    heads: int = 2,
    intermediate: int = 64,
    max_positions: int = 256,
) -> Path:
    """Write a random BERT sentence-transformers model to `dest` and return `dest`."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    from transformers import BertConfig, BertModel, BertTokenizerFast

    dest = Path(dest)
    vocab = {token: i for i, token in enumerate(build_vocab(texts))}
    # strip_accents=False: Vietnamese tones are meaning, not noise.
    tokenizer = BertTokenizerFast(vocab=vocab, do_lower_case=True, strip_accents=False)
    tokenizer.model_max_length = 256
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=intermediate,
        max_position_embeddings=max_positions,
    )
    torch.manual_seed(0)
    # sentence-transformers builds its Transformer module from a saved Hugging Face folder,
    # so the BERT goes through a scratch folder first.
    with tempfile.TemporaryDirectory() as scratch:
        BertModel(config).save_pretrained(scratch)
        tokenizer.save_pretrained(scratch)
        transformer = Transformer(scratch, max_seq_length=256)
    pooling = Pooling(transformer.get_embedding_dimension(), "mean")
    model = SentenceTransformer(modules=[transformer, pooling, Normalize()], device="cpu")
    model.save(str(dest))
    return dest
