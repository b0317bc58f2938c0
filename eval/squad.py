"""SQuAD-format JSON (XQuAD, UIT-ViQuAD, MLQA, one's own) as a corpus and a question set.

In: a SQuAD v1.1/v2.0 file. Out: one .txt file per paragraph in a folder (the article title on
the first line, a blank line, then the paragraph unchanged, so the loader takes the title as the
title and the paragraph as the body), and `Question`s whose gold document is that paragraph's
file and whose references are its answer texts. Unanswerable v2.0 questions get `answers: []`.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from eval.questions import Question, QuestionFileError


def paragraph_id(article: int, paragraph: int) -> str:
    """The paragraph's document id: its file name in the generated corpus."""
    return f"{article:03d}_{paragraph:03d}.txt"


def load_squad(path: Path) -> dict:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise QuestionFileError(f"Không tìm thấy tệp: {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise QuestionFileError(f"{path}: không đọc được JSON ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise QuestionFileError(f"{path}: không phải định dạng SQuAD (thiếu 'data')")
    return data


def write_corpus(data: dict, folder: Path) -> list[Question]:
    """Write every paragraph as a file under `folder`; return the questions in file order."""
    folder.mkdir(parents=True, exist_ok=True)
    questions: list[Question] = []
    for a, article in enumerate(data["data"]):
        title = " ".join(str(article.get("title") or f"Bài {a + 1}").replace("_", " ").split())
        for p, paragraph in enumerate(article.get("paragraphs", [])):
            context = paragraph.get("context", "")
            if not context.strip():
                continue
            doc_id = paragraph_id(a, p)
            (folder / doc_id).write_text(f"{title}\n\n{context}\n", encoding="utf-8")
            for qa in paragraph.get("qas", []):
                answers = [] if qa.get("is_impossible") else qa.get("answers", [])
                texts = tuple(dict.fromkeys(x["text"] for x in answers if x.get("text")))
                questions.append(
                    Question(
                        id=str(qa.get("id") or f"{doc_id}#{len(questions)}"),
                        question=qa["question"],
                        answers=texts,
                        doc_ids=(doc_id,),
                        type="squad",
                        source=title,
                    )
                )
    if not questions:
        raise QuestionFileError("tệp SQuAD không có câu hỏi nào")
    return questions


def even_sample(questions: list[Question], limit: int | None) -> list[Question]:
    """Every len/limit-th question, so a sample spans all articles rather than the first few."""
    if not limit or limit >= len(questions):
        return questions
    step = len(questions) / limit
    return [questions[int(i * step)] for i in range(limit)]


def left_out_copies(questions: list[Question], doc_ids: list[str]) -> list[Question]:
    """Each answerable question again, asked without its own article (every paragraph of
    it), so that nothing in the index answers it: unanswerable questions on the same topics
    and in the same style as the answerable ones, for abstention precision and recall."""
    out = []
    for q in questions:
        if not q.answerable:
            continue
        article = {d.split("_")[0] for d in q.doc_ids}  # paragraph_id: "<article>_<paragraph>"
        out.append(
            replace(
                q,
                id=f"{q.id}/loo",
                answers=(),
                doc_ids=(),
                type="leave-article-out",
                source="leave-article-out",
                excluded=tuple(d for d in doc_ids if d.split("_")[0] in article),
            )
        )
    return out


HALVES = ("tune", "heldout")


def article_half(data: dict, half: str) -> dict:
    """The SQuAD data restricted to one fixed half of its articles, for tuning on one half and
    reporting on the other: articles sorted by title, even positions are "tune", odd positions
    "heldout". Splitting by article keeps every paragraph and question of an article on one side."""
    if half not in HALVES:
        raise QuestionFileError(f"nửa không hợp lệ: {half!r} (chọn {', '.join(HALVES)})")
    articles = sorted(data["data"], key=lambda a: str(a.get("title") or ""))
    keep = {id(a) for a in articles[HALVES.index(half) :: 2]}
    return {**data, "data": [a for a in data["data"] if id(a) in keep]}
