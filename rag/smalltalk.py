"""Replies to greetings, thanks and requests for help.

In: the small-talk kind (rag.intents GREETING, THANKS or HELP) and the `Catalog` of the user's
collection. Out: a short Vietnamese `Answer` saying what the assistant does, with 2-3 example
questions built from the collection's own titles and metadata.
Never names an article that is not in the user's collection.
"""

from __future__ import annotations

from rag.collection import Catalog, DocInfo
from rag.intents import GREETING, THANKS
from rag.types import Answer

WHAT_I_DO = (
    "Tôi trả lời câu hỏi tiếng Việt dựa trên {n} bài viết trong bộ tài liệu của bạn, mỗi ý "
    "đều kèm trích dẫn [n] tới đoạn gốc. Tôi có thể trả lời câu hỏi ai, khi nào, ở đâu, bao "
    "nhiêu, vì sao; tóm tắt hay so sánh các bài; và cho biết bộ tài liệu có những bài nào."
)
EMPTY = (
    "Bộ tài liệu chưa có bài viết nào. Hãy nạp tài liệu (python -m rag ingest THƯ_MỤC hoặc "
    "nút tải tệp lên) rồi đặt câu hỏi."
)
# What to ask before any article is loaded: about the assistant and the collection itself.
EMPTY_EXAMPLES = ("Bạn giúp gì được?", "Có bao nhiêu bài viết trong bộ tài liệu?")
OPENING = {GREETING: "Xin chào!", THANKS: "Không có gì, rất vui được giúp bạn!"}


def small_talk_reply(kind: str, catalog: Catalog) -> Answer:
    """The reply to a greeting, thanks or a request for help over this collection."""
    if not catalog.docs:
        body = EMPTY
    else:
        examples = "\n".join(f"- {q}" for q in example_questions(catalog))
        # Thanks needs no introduction again: only what to ask next.
        what = "" if kind == THANKS else WHAT_I_DO.format(n=len(catalog.docs)) + "\n"
        body = f"{what}Bạn có thể hỏi, ví dụ:\n{examples}"
    opening = OPENING.get(kind)
    text = f"{opening} {body}" if opening else body
    return Answer(text=text, citations=(), abstained=False, mode="extractive")


def example_questions(catalog: Catalog, n: int = 3) -> list[str]:
    """Up to `n` questions this assistant answers over the collection: a summary of its newest
    article, a question about another one's metadata, and how many articles there are."""
    newest = sorted(catalog.docs, key=lambda d: (d.date or "", d.doc_id), reverse=True)
    out = [f"Tóm tắt bài «{_short(newest[0])}»"]
    for d in newest[1:]:
        if d.author:
            out.append(f"Ai viết bài «{_short(d)}»?")
            break
        if d.date:
            out.append(f"Bài «{_short(d)}» được đăng ngày nào?")
            break
    out.append("Có bao nhiêu bài viết trong bộ tài liệu?")
    return out[:n]


def _short(d: DocInfo, words: int = 12) -> str:
    """The title, cut at a word boundary when it is long."""
    parts = d.title.split()
    return d.title if len(parts) <= words else " ".join(parts[:words]) + "…"


__all__ = ["EMPTY_EXAMPLES", "example_questions", "small_talk_reply"]
