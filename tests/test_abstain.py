"""The calibrated evidence score (rag.abstain): a question whose key word no retrieved passage
says is not answered with a nearby number or name; questions the articles answer still are."""

from __future__ import annotations

import pytest

from embeddings import load_embedder
from rag.abstain import THRESHOLD, evidence, features
from rag.assistant import Assistant
from rag.config import Settings
from rag.retrieval import Retriever
from rag.scoring import idf_from_counts
from rag.store import Store
from rag.text import fold


@pytest.fixture(scope="module")
def assistant(tmp_path_factory, seed_corpus):
    data = tmp_path_factory.mktemp("abstain-data")
    settings = Settings.from_env(env={"RAG_DATA_DIR": str(data), "RAG_READER": "off"})
    store = Store(settings, load_embedder("hashing"))
    store.sync(seed_corpus)
    return Assistant(settings, Retriever(store, settings))


def _idf(assistant):
    lexical = assistant.store.snapshot.lexical
    return idf_from_counts(lexical.folded_doc_freq, max(lexical.size, 1))


@pytest.mark.parametrize(
    "question",
    [
        # The articles count đảng viên often (488 given new cards, 58 given badges), never those
        # expelled: before the score, "488" was the answer.
        "Bao nhiêu đảng viên bị khai trừ khỏi Đảng trong nhiệm kỳ 2015 - 2020?",
        # No home town anywhere: before, "25/12, Đảng ủy Khối" was the answer.
        "Bà Nguyễn Thị Tuyến quê ở đâu?",
    ],
)
@pytest.mark.parametrize("typed", [True, False], ids=["diacritics", "folded"])
def test_a_missing_key_word_is_not_answered_with_a_nearby_one(assistant, question, typed):
    question = question if typed else fold(question)
    answer = assistant.ask(question)
    assert answer.abstained and answer.short_answer is None
    hits = assistant.search(question)
    assert evidence(question, hits, _idf(assistant)) < THRESHOLD


@pytest.mark.parametrize(
    ("question", "short"),
    [
        ("Kế hoạch số 51-KH/ĐUK được triển khai tới bao nhiêu chi bộ?", "594"),
        ("Phó Bí thư Thường trực Thành ủy là ai?", "Nguyễn Thị Tuyến"),
    ],
)
def test_answered_questions_keep_their_answer(assistant, question, short):
    hits = assistant.search(question)
    assert evidence(question, hits, _idf(assistant)) >= THRESHOLD
    assert assistant.ask(question).short_answer == short


def test_features_say_what_the_passages_lack(assistant):
    question = "Bao nhiêu đảng viên bị khai trừ khỏi Đảng trong nhiệm kỳ 2015 - 2020?"
    hits = assistant.search(question)
    missing_all, missing_first, rarest, key_all, key_first = features(
        question, hits, _idf(assistant)
    )
    # "khai trừ" is in no passage, and it is the question's rarest word.
    assert key_all == key_first == 1.0
    assert 0 < missing_all <= missing_first < 1 and 0 < rarest <= 1
