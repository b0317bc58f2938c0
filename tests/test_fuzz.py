"""Property tests over the Vietnamese text functions and the chunker (hypothesis), and the
chunker on a line with no sentence end at all."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rag.chunking import chunk_article, word_count
from rag.text import canonical, fold, normalize_tones, split_sentences
from rag.types import Article

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
        assert word_count(chunk.text) <= max_tokens
    in_chunks = set()
    for chunk in chunks:
        in_chunks.update(range(chunk.start, chunk.end))
    for start, end in doc.body:
        assert all(i in in_chunks for i in range(start, end) if not text[i].isspace())


# A corpus sentence without its punctuation, as a scraper that lost every full stop leaves it.
WORDS = (
    "Hoạt động theo mô hình hợp nhất từ ngày 1-6-2020 Đảng bộ Khối các Cơ quan và Doanh nghiệp "
    "tỉnh đã sớm kiện toàn tổ chức bộ máy tập trung lãnh đạo chỉ đạo 159 đảng bộ chi bộ trực "
    "thuộc với tổng số gần 10 nghìn đảng viên"
).split()


def test_a_line_without_punctuation_is_cut_at_the_token_budget():
    words = WORDS * 100  # 4,100 words, one line, no sentence end
    text = " ".join(words)
    chunks = chunk_article(article(text), max_tokens=200)
    assert [c.text for c in chunks] == [
        " ".join(words[i : i + 200]) for i in range(0, len(words), 200)
    ]
    assert all(text[c.start : c.end] == c.text for c in chunks)


def test_a_word_longer_than_the_budget_is_cut_inside_by_characters():
    run = "".join(WORDS) * 6  # 1,020 characters without a space
    text = f"Mở đầu {run} kết thúc"

    def characters(piece: str) -> int:
        return len(piece)

    chunks = chunk_article(article(text), count_tokens=characters, max_tokens=300, overlap=0)
    assert all(len(c.text) <= 300 and text[c.start : c.end] == c.text for c in chunks)
    assert "".join(c.text for c in chunks).replace(" ", "") == text.replace(" ", "")
    # The words before the run, the run in full pieces, its rest with the words after it.
    assert [len(c.text) for c in chunks] == [6, 300, 300, 300, 129]
    assert (chunks[0].text, chunks[-1].text) == ("Mở đầu", f"{run[900:]} kết thúc")
