"""Questions written in another language, answered from the Vietnamese documents.

In: the question, the `Hit`s of dense retrieval (ranked across languages) and the model's question-sentence similarity
(multilingual: an English question lands near the Vietnamese sentence that answers it). Out: an
`Answer` whose first line says the documents are Vietnamese, then the closest sentence, cited.
Never translates: the quoted sentence is the original Vietnamese text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rag.citations import ABSTAIN_TEXT
from rag.sentences import document_sentences
from rag.summary import MIN_WORDS
from rag.types import Answer, Citation, Hit

PASSAGES = 2  # the retrieved passages whose sentences are compared with the question

NOTE = "Câu hỏi không phải tiếng Việt; câu trả lời dưới đây lấy nguyên văn từ tài liệu tiếng Việt."
NO_MODEL = (
    "Câu hỏi không phải tiếng Việt, mà mô hình nhúng đang chạy không so khớp được hai ngôn "
    "ngữ; hãy hỏi bằng tiếng Việt."
)

Similarity = Callable[[str, list[str]], list[float]]


def answer_foreign(question: str, hits: Sequence[Hit], similarity: Similarity | None) -> Answer:
    """The sentence of the hits closest in meaning to `question`, under the one-line note."""
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
    cite = Citation.of(s.chunk, 1, s.start, s.end, supported=True)
    return Answer(f"{NOTE}\n\n{s.text} [1]", (cite,), abstained=False, mode="extractive")


__all__ = ["NOTE", "answer_foreign"]
