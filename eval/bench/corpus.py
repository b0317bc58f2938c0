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


def sentence_pool(xquad: Path = XQUAD) -> list[str]:
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
    squad = json.loads(xquad.read_text("utf-8"))
    texts.extend(p["context"] for a in squad["data"] for p in a["paragraphs"])
    pool: set[str] = set()
    for text in texts:
        for s, e in split_sentences(text):
            sentence = " ".join(text[s:e].split())
            if 6 <= len(sentence.split()) <= 80:
                pool.add(sentence)
    return sorted(pool)


def write_corpus(
    folder: Path,
    n_passages: int,
    seed: int,
    passage_words: int | None = None,
    xquad: Path = XQUAD,
) -> dict:
    """Files of recombined sentences, about `n_passages` passages in all: documents of ~1,400
    words that the product chunks into ~200-word passages, or with `passage_words` one file per
    passage, a title over one paragraph of two `passage_words / 2`-word windows of two sentences
    (under every model's chunk budget, so each model indexes the very same passages).

    Returns the sentence index: which documents hold each sentence (for relevance), the pairs of
    neighbouring texts (sentence index, text) to draw queries from, and the characters written.
    """
    rng = random.Random(seed)
    pool = sentence_pool(xquad)
    n_docs = n_passages if passage_words else max(1, round(n_passages / 10))
    holders: dict[int, set[str]] = {}
    pairs: list[tuple[tuple[int, str], tuple[int, str]]] = []
    chars = 0
    folder.mkdir(parents=True, exist_ok=True)
    for d in range(n_docs):
        doc_id = f"{d // 1000:03d}/{d:06d}.txt"
        title_words = pool[rng.randrange(len(pool))].split()[:10]
        title = " ".join(title_words).rstrip(".,;:")
        if passage_words:
            ids = [rng.randrange(len(pool)) for _ in range(2)]
            pieces = [_window(pool[i], rng, passage_words // 2) for i in ids]
            pairs.append(((ids[0], pieces[0]), (ids[1], pieces[1])))
            for i in ids:
                holders.setdefault(i, set()).add(doc_id)
            paragraphs = [" ".join(pieces).rstrip(".,;:") + "."]
        else:
            paragraphs, words = [], 0
            while words < WORDS_PER_DOCUMENT:
                n = rng.randint(*SENTENCES_PER_PARAGRAPH)
                ids = [rng.randrange(len(pool)) for _ in range(n)]
                for i in ids:
                    holders.setdefault(i, set()).add(doc_id)
                pairs.extend(
                    ((a, pool[a]), (b, pool[b])) for a, b in zip(ids, ids[1:], strict=False)
                )
                words += sum(len(pool[i].split()) for i in ids)
                paragraphs.append(" ".join(pool[i] for i in ids))
        text = title + "\n\n" + "\n\n".join(paragraphs) + "\n"
        path = folder / doc_id
        path.parent.mkdir(exist_ok=True)
        _write_if_changed(path, text)
        chars += len(text)
    return {"pool": pool, "holders": holders, "pairs": pairs, "chars": chars, "documents": n_docs}


def _write_if_changed(path: Path, text: str) -> None:
    """A kept corpus (--keep) is rewritten by the same seed: leave identical files alone."""
    try:
        if path.read_text("utf-8") == text:
            return
    except (OSError, UnicodeDecodeError):
        pass
    path.write_text(text, "utf-8")


def make_queries(corpus: dict, n: int, seed: int) -> list[dict]:
    """Two word windows from two neighbouring texts of one paragraph; relevant passages are
    those that contain both windows. A quarter are typed without diacritics."""
    from rag.text import fold

    rng = random.Random(seed + 1)
    pairs = corpus["pairs"]
    queries = []
    for q in range(n):
        (a, text_a), (b, text_b) = pairs[rng.randrange(len(pairs))]
        windows = [_window(t, rng) for t in (text_a, text_b)]
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


def _window(sentence: str, rng: random.Random, size: int | None = None) -> str:
    words = sentence.split()
    size = min(len(words), size or rng.randint(*WINDOW_WORDS))
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
