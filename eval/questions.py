"""Question files: JSONL, one question per line, as DESIGN.md describes.

In: a path to a JSONL file (`id`, `question`, `answers`, `doc_ids`, optional `history`, `type`).
Out: `Question`s, checked line by line; a malformed file raises `QuestionFileError` naming the
line, never a traceback. `answers: []` marks a question the corpus cannot answer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

from rag.text import fold


class QuestionFileError(ValueError):
    """The question file cannot be used; the message names the file and line."""


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    answers: tuple[str, ...]
    doc_ids: tuple[str, ...]
    history: tuple[tuple[str, str], ...] = ()
    type: str | None = None
    # Where the question comes from when the file says (a SQuAD article's title); reports group by it.
    source: str | None = None
    # Documents left out of the index for this question (leave-article-out: its own article).
    excluded: tuple[str, ...] = ()

    @property
    def answerable(self) -> bool:
        return bool(self.answers)

    def to_json(self) -> dict:
        item = {
            "id": self.id,
            "question": self.question,
            "answers": list(self.answers),
            "doc_ids": list(self.doc_ids),
        }
        if self.history:
            item["history"] = [list(turn) for turn in self.history]
        if self.type is not None:
            item["type"] = self.type
        if self.source is not None:
            item["source"] = self.source
        return item


def _strings(value, name: str, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise QuestionFileError(f"{where}: '{name}' phải là một danh sách chuỗi")
    return tuple(value)


def parse_question(item: object, where: str) -> Question:
    if not isinstance(item, dict):
        raise QuestionFileError(f"{where}: mỗi dòng phải là một đối tượng JSON")
    for key in ("id", "question"):
        if not isinstance(item.get(key), str) or not item[key].strip():
            raise QuestionFileError(f"{where}: thiếu '{key}' (chuỗi khác rỗng)")
    history = item.get("history") or []
    if not isinstance(history, list) or not all(
        isinstance(turn, list) and len(turn) == 2 and all(isinstance(t, str) for t in turn)
        for turn in history
    ):
        raise QuestionFileError(f"{where}: 'history' phải là [[câu hỏi, câu trả lời], ...]")
    kind = item.get("type")
    if kind is not None and not isinstance(kind, str):
        raise QuestionFileError(f"{where}: 'type' phải là chuỗi")
    return Question(
        id=item["id"],
        question=item["question"],
        answers=_strings(item.get("answers"), "answers", where),
        doc_ids=_strings(item.get("doc_ids", []), "doc_ids", where),
        history=tuple((q, a) for q, a in history),
        type=kind,
    )


def load_questions(path: Path) -> list[Question]:
    """Every question of a JSONL file; blank lines are skipped, ids must be unique."""
    try:
        lines = Path(path).read_text(encoding="utf-8-sig").splitlines()
    except FileNotFoundError:
        raise QuestionFileError(f"Không tìm thấy tệp câu hỏi: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise QuestionFileError(f"Không đọc được {path}: {exc}") from None
    questions: list[Question] = []
    seen: set[str] = set()
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}:{n}"
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise QuestionFileError(f"{where}: JSON không hợp lệ ({exc.msg})") from None
        question = parse_question(item, where)
        if question.id in seen:
            raise QuestionFileError(f"{where}: id trùng lặp {question.id!r}")
        seen.add(question.id)
        questions.append(question)
    if not questions:
        raise QuestionFileError(f"{path}: không có câu hỏi nào")
    return questions


def without_diacritics(question: Question) -> Question:
    """The same question typed without diacritics (history too); references are unchanged."""
    return replace(
        question,
        question=fold(question.question),
        history=tuple((fold(q), fold(a)) for q, a in question.history),
    )
