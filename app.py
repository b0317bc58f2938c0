"""The chat page (a first, minimal version: one question, one answer with its sources)."""

from __future__ import annotations

import gradio as gr

from rag.chain import Assistant
from rag.config import Settings


def create_app(assistant: Assistant) -> gr.Blocks:
    def answer(question: str) -> str:
        result = assistant.ask(question)
        sources = "\n".join(f"[{c.n}] {c.title} — «{c.quote}»" for c in result.citations)
        return f"{result.text}\n\n{sources}"

    with gr.Blocks(title="Hỏi đáp tài liệu") as page:
        question = gr.Textbox(label="Câu hỏi")
        output = gr.Textbox(label="Trả lời")
        question.submit(answer, question, output)
    return page


if __name__ == "__main__":
    settings = Settings.from_env()
    assistant = Assistant.from_settings(settings)
    if not assistant.store.snapshot.chunks:
        assistant.store.sync(settings.corpus_dir)
    create_app(assistant).launch(server_name=settings.host, server_port=settings.port)
