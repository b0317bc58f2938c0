"""An evaluation that asks only in lexical mode builds no vectors: nothing is embedded (with
the bundled model, 30,000 XQuAD paragraphs took over 25 minutes for vectors no mode used)."""

from __future__ import annotations

import json

import pytest

from embeddings.hashing import HashingEmbeddings
from eval.__main__ import main
from tests.test_eval import TINY_SQUAD


@pytest.fixture
def embedded(monkeypatch) -> list[int]:
    """How many texts the embedder was given, call by call (every embedding goes through
    `embed_array`: passages, questions and sentences alike)."""
    calls: list[int] = []
    real = HashingEmbeddings.embed_array

    def counting(self, texts, **kwargs):
        calls.append(len(texts))
        return real(self, texts, **kwargs)

    monkeypatch.setattr(HashingEmbeddings, "embed_array", counting)
    return calls


def squad(tmp_path, *modes: str) -> dict:
    source = tmp_path / "tiny.json"
    source.write_text(json.dumps(TINY_SQUAD, ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["squad", str(source), "--modes", ",".join(modes), "--out", str(out)]) == 0
    return json.loads((out / "report.json").read_text("utf-8"))


def test_a_lexical_squad_run_embeds_nothing(tmp_path, embedded):
    report = squad(tmp_path, "lexical")
    assert embedded == []
    assert report["modes"]["lexical"]["retrieval"]["hit@1"] == 1.0


def test_a_run_with_a_dense_mode_still_embeds_every_paragraph(tmp_path, embedded):
    report = squad(tmp_path, "lexical", "hybrid")
    # First the three paragraphs' passages, in one batch at ingest (questions may follow).
    assert embedded[0] == 3
    assert set(report["modes"]) == {"lexical", "hybrid"}
