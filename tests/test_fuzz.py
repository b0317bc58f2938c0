"""Property tests over the Vietnamese text functions and the chunker (hypothesis)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rag.chunking import chunk_article
from rag.documents import Article
from rag.text import canonical, fold, normalize_tones, split_sentences

VIETNAMESE = (
    "aăâbcdđeêghiklmnoôơpqrstuưvxyAĂÂĐÊÔƠƯ"
    + "àáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ"
)
TEXT = st.text(
    alphabet=st.sampled_from(
        list(VIETNAMESE + ' .,;:!?…\n\t\u00a0\u0300\u0301\u0323%/-0123456789“”"()')
    ),
    max_size=400,
)
ANY_TEXT = st.text(max_size=300)


@settings(max_examples=300, deadline=None)
@given(ANY_TEXT)
def test_normalisation_is_idempotent_and_folding_never_raises(text):
    once = normalize_tones(text)
    assert normalize_tones(once) == once
    assert canonical(canonical(text)) == canonical(text)
    assert fold(fold(text)) == fold(text)


@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_sentence_splitter_never_loses_a_character(text):
    spans = split_sentences(text)
    covered = set()
    last = 0
    for start, end in spans:
        assert last <= start < end <= len(text)
        assert text[start:end] == text[start:end].strip()
        covered.update(range(start, end))
        last = end
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())


def article(text: str) -> Article:
    body = tuple(split_blocks(text))
    return Article(
        doc_id="fuzz.txt",
        source="/fuzz.txt",
        text=text,
        title="Tiêu đề",
        body=body,
        author=None,
        outlet=None,
        date=None,
        content_hash="0" * 64,
    )


def split_blocks(text: str):
    """Blocks as the loader makes them: runs of non-blank lines, stripped."""
    start = None
    pos = 0
    for line in text.splitlines(keepends=True):
        if line.strip() and start is None:
            start = pos + (len(line) - len(line.lstrip()))
        if not line.strip() and start is not None:
            yield start, len(text[:pos].rstrip())
            start = None
        pos += len(line)
    if start is not None:
        yield start, len(text.rstrip())


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXT, st.integers(min_value=3, max_value=60))
def test_every_chunk_maps_back_to_exactly_its_text(text, max_tokens):
    doc = article(text)
    chunks = chunk_article(doc, max_tokens=max_tokens)
    for chunk in chunks:
        assert text[chunk.start : chunk.end] == chunk.text
        assert chunk.text.strip() == chunk.text and chunk.text
    in_chunks = set()
    for chunk in chunks:
        in_chunks.update(range(chunk.start, chunk.end))
    for start, end in doc.body:
        assert all(i in in_chunks for i in range(start, end) if not text[i].isspace())
