"""Retrieval on the seed corpus with Vietnamese questions: exact top documents, every mode."""

from __future__ import annotations

import pytest
from langchain_core.documents import Document

from embeddings import load_embedder
from rag.config import Settings
from rag.retrieval import (
    LangChainRetriever,
    QueryError,
    Retriever,
    reciprocal_rank_fusion,
)
from rag.store import Filters, Store

KINHTEDOTHI = "000_cc43d066e58669a5.txt"
QUANG_NGAI = "001_de17a9f0785143ac.txt"
SONG_GIANG = "002_4b3c1fe148501639.txt"
HANOI_KIEM_DIEM = "003_45ec861fa7425e3b.txt"
DIEN_BIEN = "004_aa61c7b126e7bd72.txt"

QUESTIONS = [
    ("Ai là Trưởng Ban chỉ đạo Chương trình số 06-Ctr/ĐUK?", KINHTEDOTHI),
    ("Ai la Truong Ban chi dao Chuong trinh so 06-Ctr/DUK?", KINHTEDOTHI),
    ("Bi thu Dang uy Khoi cac co quan TP Ha Noi la ai", KINHTEDOTHI),
    ("Đồng chí Vũ Hữu Thi giữ chức vụ gì?", QUANG_NGAI),
    ("Ông Bùi Võ Quảng nói gì về giai đoạn mới?", SONG_GIANG),
    ("Đồng chí Nguyễn Thị Tuyến đánh giá gì tại hội nghị kiểm điểm?", HANOI_KIEM_DIEM),
    ("Từ năm 2017 đã tổ chức bao nhiêu lớp trung cấp chính trị?", DIEN_BIEN),
    ("tu nam 2017 da to chuc bao nhieu lop trung cap chinh tri", DIEN_BIEN),
]


@pytest.fixture(scope="module")
def retriever(tmp_path_factory, seed_corpus):
    data = tmp_path_factory.mktemp("retrieval-data")
    settings = Settings.from_env(env={"RAG_DATA_DIR": str(data)})
    store = Store(settings, load_embedder("hashing"))
    store.sync(seed_corpus)
    return Retriever(store, settings)


@pytest.mark.parametrize("mode", ["lexical", "dense", "hybrid"])
@pytest.mark.parametrize(("question", "doc_id"), QUESTIONS)
def test_top_document(retriever, mode, question, doc_id):
    hits = retriever.search(question, k=5, mode=mode)
    assert hits[0].chunk.doc_id == doc_id
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))


def test_old_and_new_tone_marks_rank_the_same(retriever):
    old = retriever.search("Đảng uỷ Khối các cơ quan TP Hà Nội", k=5, mode="lexical")
    new = retriever.search("Đảng ủy Khối các cơ quan TP Hà Nội", k=5, mode="lexical")
    assert [h.chunk.chunk_id for h in old] == [h.chunk.chunk_id for h in new]
    assert [h.score for h in old] == pytest.approx([h.score for h in new])


def test_filters_by_document_outlet_and_date(retriever):
    question = "nâng cao năng lực lãnh đạo, sức chiến đấu của tổ chức cơ sở đảng"
    for mode in ("lexical", "dense", "hybrid"):
        only = retriever.search(question, k=10, mode=mode, filters=Filters(outlet="ĐBP"))
        assert {h.chunk.doc_id for h in only} == {DIEN_BIEN}
        doc = retriever.search(question, k=10, mode=mode, filters=Filters(doc_ids=(SONG_GIANG,)))
        assert {h.chunk.doc_id for h in doc} == {SONG_GIANG}
        dated = retriever.search(
            question, k=20, mode=mode, filters=Filters(date_from="2021-01-01", date_to="2022-12-31")
        )
        assert {h.chunk.doc_id for h in dated} == {HANOI_KIEM_DIEM, DIEN_BIEN}


def test_hits_carry_original_text_and_offsets(retriever, seed_corpus):
    for hit in retriever.search("Lê Minh Đức", k=5, mode="hybrid"):
        original = (seed_corpus / hit.chunk.doc_id).read_text("utf-8")
        assert original[hit.chunk.start : hit.chunk.end] == hit.chunk.text


@pytest.mark.parametrize(
    ("question", "message"),
    [
        ("   ", "Câu hỏi trống: hãy nhập một câu hỏi."),
        ("a" * 100_000, "Câu hỏi quá dài (100,000 ký tự; tối đa 2,000)."),
    ],
)
def test_bad_questions_are_refused_in_one_line(retriever, question, message):
    with pytest.raises(QueryError) as err:
        retriever.search(question)
    assert str(err.value) == message


def test_reciprocal_rank_fusion_weights():
    fused = reciprocal_rank_fusion([(1.0, [7, 3]), (2.0, [3, 9])], k=60)
    assert [p for p, _ in fused] == [3, 9, 7]
    assert fused[0][1] == pytest.approx(1 / 62 + 2 / 61)


def test_langchain_retriever_face(retriever):
    face = LangChainRetriever(retriever=retriever, k=3, mode="hybrid")
    docs = face.invoke("Ai là Trưởng Ban chỉ đạo Chương trình số 06-Ctr/ĐUK?")
    assert len(docs) == 3 and all(isinstance(d, Document) for d in docs)
    assert docs[0].metadata["doc_id"] == KINHTEDOTHI
    assert docs[0].metadata["rank"] == 1


def test_unloadable_reranker_is_skipped_with_a_warning(retriever, caplog):
    settings = Settings.from_env(env={"RAG_RERANKER_MODEL": "/khong/co/mo-hinh"})
    reranking = Retriever(retriever.store, settings)
    hits = reranking.search("Ai là Trưởng Ban chỉ đạo Chương trình số 06-Ctr/ĐUK?", k=3)
    assert hits[0].chunk.doc_id == KINHTEDOTHI
    assert "/khong/co/mo-hinh" in caplog.text
