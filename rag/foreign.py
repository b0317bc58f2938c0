"""Questions written in another language, answered from the Vietnamese documents.

In: the question, the `Hit`s of dense retrieval (ranked across languages), the model's question-sentence similarity
(multilingual: an English question lands near the Vietnamese sentence that answers it) and the
neural reader when it loads. Out: an `Answer` whose first line says the documents are
Vietnamese, then the reader's direct answer (a span) with its sentence's excerpt, or, without a
reader, the closest sentence, cited.
Never translates: the quoted sentence is the original Vietnamese text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from rag.citations import ABSTAIN_TEXT
from rag.errors import one_line
from rag.sentences import document_sentences
from rag.summary import MIN_WORDS
from rag.types import Answer, Chunk, Citation, Hit

if TYPE_CHECKING:
    from rag.reader import Reader

PASSAGES = 2  # the retrieved passages whose sentences are compared with the question

NOTE = "Câu hỏi không phải tiếng Việt; câu trả lời dưới đây lấy nguyên văn từ tài liệu tiếng Việt."
NO_MODEL = (
    "Câu hỏi không phải tiếng Việt, mà mô hình nhúng đang chạy không so khớp được hai ngôn "
    "ngữ; hãy hỏi bằng tiếng Việt."
)

Similarity = Callable[[str, list[str]], list[float]]


def answer_foreign(
    question: str, hits: Sequence[Hit], similarity: Similarity | None, reader: Reader | None = None
) -> Answer:
    """Under the one-line note: the sentence of the hits closest in meaning to `question`, or,
    with a reader, the reader's answer span in that sentence's passage (e5 reads the question
    across languages) first, then its sentence's excerpt."""
    if similarity is None:
        return Answer(NO_MODEL, (), abstained=True, mode="extractive")

    # Dense retrieval already ranked the passages across languages; embedding every sentence
    # of all of them would cost seconds, so only the best passages' statements are compared.
    candidates = [s for hit in hits[:PASSAGES] for s in document_sentences([hit.chunk])]
    sentences = [s for s in candidates if len(s.text.split()) >= MIN_WORDS] or candidates
    if not sentences:
        return Answer(f"{NOTE}\n\n{ABSTAIN_TEXT}", (), abstained=True, mode="extractive")
    scores = similarity(question, [s.text for s in sentences])
    best = max(range(len(sentences)), key=lambda i: (scores[i], -i))
    s = sentences[best]
    # The reader reads the passage of that sentence: the model's cosine (and dense ranking)
    # chose it across languages; the reader picks the answer inside it.
    read = _read(question, [s.chunk], reader) if reader is not None else None
    if read is not None:
        return read
    cite = Citation.of(s.chunk, 1, s.start, s.end, supported=True)
    return Answer(f"{NOTE}\n\n{s.text} [1]", (cite,), abstained=False, mode="extractive")


def _read(question: str, chunks: Sequence[Chunk], reader: Reader) -> Answer | None:
    """The reader's best span in `chunks`, widened to whole words, first and bold, then the
    excerpt of its sentence, both cited; None when it finds none."""
    from rag.answer.factoid import ANSWER_WORDS, SUPPORT_MIN_WORDS, excerpt, support
    from rag.reader import whole_words

    reads = reader.read(question, [c.text for c in chunks]) if chunks else []
    options = [(r, c) for r, c in zip(reads, chunks, strict=True) if r is not None]
    if not options:
        return None
    read, chunk = max(options, key=lambda o: o[0].score)
    where = chunk.start + read.start
    for s in document_sentences([chunk]):
        if not s.start <= where < s.end:
            continue
        a, b = whole_words(s.text, where - s.start, min(chunk.start + read.end, s.end) - s.start)
        if b <= a:
            return None
        short = s.text[a:b]
        limit = max(SUPPORT_MIN_WORDS, ANSWER_WORDS - len(short.split()))
        shown = excerpt(s.text, *support(s.text, (a, b), limit))
        cite = Citation.of(s.chunk, 1, s.start, s.end, True, (s.start + a, s.start + b))
        return Answer(
            f"{NOTE}\n\n{one_line(short)} [1] — {shown}",
            (cite,),
            abstained=False,
            mode="extractive",
            span=short,
            short_answer=short,
        )
    return None


__all__ = ["NOTE", "answer_foreign"]
