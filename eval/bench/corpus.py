"""The benchmark's synthetic corpus: real Vietnamese sentences recombined with a fixed seed.

In: a seed, a size in passages, the shipped articles and the XQuAD-vi paragraphs (the sentence
pool). Out: corpus files in a folder, the queries drawn from them (two word windows of
neighbouring sentences, a quarter typed without diacritics) and, once indexed, the snapshot
positions of the passages relevant to each query. Never reads or writes the user's index.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
XQUAD = REPO.parent / "shared" / "data" / "xquad" / "xquad.vi.json"
SENTENCES_PER_PARAGRAPH = (2, 5)
# About ten 200-word passages per document, as a long news article would give.
WORDS_PER_DOCUMENT = 1400
WINDOW_WORDS = (5, 8)
FOLDED_SHARE = 0.25  # queries typed without diacritics


def sentence_pool() -> list[str]:
    """Sentences of the shipped articles' bodies and of every XQuAD-vi paragraph."""
    from rag.documents import DocumentError, iter_document_paths, load_document
    from rag.text import split_sentences

    texts: list[str] = []
    corpus = REPO / "corpus"
    for path in iter_document_paths(corpus):
        try:
            article = load_document(path, corpus)
        except DocumentError:
            continue
        texts.extend(article.text[s:e] for s, e in article.body)
    xquad = json.loads(XQUAD.read_text("utf-8"))
    texts.extend(p["context"] for a in xquad["data"] for p in a["paragraphs"])
    pool: set[str] = set()
    for text in texts:
        for s, e in split_sentences(text):
            sentence = " ".join(text[s:e].split())
            if 6 <= len(sentence.split()) <= 80:
                pool.add(sentence)
    return sorted(pool)


def write_corpus(folder: Path, n_passages: int, seed: int) -> dict:
    """Files of recombined sentences, about `n_passages` 200-word passages in all.

    Returns the sentence index: which documents hold each sentence (for relevance), the
    adjacent sentence pairs to draw queries from, and the characters written.
    """
    rng = random.Random(seed)
    pool = sentence_pool()
    n_docs = max(1, round(n_passages / 10))
    holders: dict[int, set[str]] = {}
    pairs: list[tuple[int, int]] = []
    chars = 0
    folder.mkdir(parents=True, exist_ok=True)
    for d in range(n_docs):
        doc_id = f"{d // 1000:03d}/{d:06d}.txt"
        title_words = pool[rng.randrange(len(pool))].split()[:10]
        title = " ".join(title_words).rstrip(".,;:")
        paragraphs, words = [], 0
        while words < WORDS_PER_DOCUMENT:
            ids = [rng.randrange(len(pool)) for _ in range(rng.randint(*SENTENCES_PER_PARAGRAPH))]
            for i in ids:
                holders.setdefault(i, set()).add(doc_id)
            pairs.extend(zip(ids, ids[1:], strict=False))
            words += sum(len(pool[i].split()) for i in ids)
            paragraphs.append(" ".join(pool[i] for i in ids))
        text = title + "\n\n" + "\n\n".join(paragraphs) + "\n"
        path = folder / doc_id
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, "utf-8")
        chars += len(text)
    return {"pool": pool, "holders": holders, "pairs": pairs, "chars": chars, "documents": n_docs}


def make_queries(corpus: dict, n: int, seed: int) -> list[dict]:
    """Two word windows from two adjacent sentences of one paragraph; relevant passages are
    those that contain both windows. A quarter are typed without diacritics."""
    from rag.text import fold

    rng = random.Random(seed + 1)
    pool, pairs = corpus["pool"], corpus["pairs"]
    queries = []
    for q in range(n):
        a, b = pairs[rng.randrange(len(pairs))]
        windows = [_window(pool[i], rng) for i in (a, b)]
        text = " ".join(w for w in windows)
        folded = q % round(1 / FOLDED_SHARE) == 0
        queries.append(
            {
                "text": fold(text) if folded else text,
                "windows": windows,
                "docs": sorted(corpus["holders"][a] & corpus["holders"][b]),
                "folded": folded,
            }
        )
    return queries


def _window(sentence: str, rng: random.Random) -> str:
    words = sentence.split()
    size = min(len(words), rng.randint(*WINDOW_WORDS))
    start = rng.randrange(len(words) - size + 1)
    return " ".join(words[start : start + size])


def relevant_positions(snapshot, query: dict) -> set[int]:
    """Snapshot positions of the passages holding both windows of the query."""
    found = set()
    for doc_id in query["docs"]:
        record = snapshot.docs.get(doc_id)
        for cid in record["chunks"] if record else ():
            pos = snapshot.position[cid]
            text = " ".join(snapshot.chunks[pos].text.split())
            if all(w in text for w in query["windows"]):
                found.add(pos)
    return found
