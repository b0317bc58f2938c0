"""Reader weights are checked when they are loaded: a bad file (cut short, not a zip, an array
missing, another shape, NaN or infinite values) is one warning naming the file, the answerer
runs on the span rules alone, and `info` (text and JSON) and the page's status say why."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from rag import ui
from rag.reader import WEIGHTS_FILE, reader_for, reader_state
from rag.types import Status
from tests.conftest import REPO

WHO = "Ai là Trưởng Ban chỉ đạo Chương trình số 06-Ctr/ĐUK?"
NOT_NPZ = "không phải tệp .npz (zip) đọc được: hỏng, bị cắt hoặc sai định dạng"


def bundled() -> dict[str, np.ndarray]:
    with np.load(WEIGHTS_FILE) as data:
        return {name: data[name] for name in data.files}


def adapters(params: dict[str, np.ndarray]) -> list[str]:
    """The adapter arrays (not the head), in file order."""
    return [name for name in params if not name.startswith("head.")]


def truncated(path: Path) -> str:
    data = WEIGHTS_FILE.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return NOT_NPZ


def not_a_zip(path: Path) -> str:
    path.write_text("trọng số của bộ đọc\n", encoding="utf-8")
    return NOT_NPZ


def without_an_adapter(path: Path) -> str:
    params = bundled()
    gone = adapters(params)[-1]
    del params[gone]
    np.savez(path, **params)
    return f"thiếu {gone}"


def with_a_wrong_shape(path: Path) -> str:
    params = bundled()
    name = adapters(params)[-1]
    good = params[name].shape
    params[name] = params[name][..., :-1]
    np.savez(path, **params)
    return f"{name} có kích thước {params[name].shape}, cần {good}"


def with_a_wrong_head(path: Path) -> str:
    params = bundled()
    good = params["head.bias"].shape
    params["head.bias"] = np.zeros(3, dtype=np.float32)
    np.savez(path, **params)
    return f"head.bias có kích thước (3,), cần {good}"


def with_nan(path: Path) -> str:
    params = bundled()
    params["head.weight"] = params["head.weight"].copy()
    params["head.weight"][0, 0] = np.nan
    np.savez(path, **params)
    return "head.weight có giá trị không hữu hạn (NaN hoặc vô cực)"


def with_infinity(path: Path) -> str:
    params = bundled()
    name = adapters(params)[0]
    params[name] = params[name].copy()
    params[name].flat[5] = np.inf
    np.savez(path, **params)
    return f"{name} có giá trị không hữu hạn (NaN hoặc vô cực)"


BAD_FILES = [
    truncated,
    not_a_zip,
    without_an_adapter,
    with_a_wrong_shape,
    with_a_wrong_head,
    with_nan,
    with_infinity,
]


@pytest.mark.parametrize("make", BAD_FILES, ids=lambda make: make.__name__)
def test_bad_weights_are_refused_in_one_line_naming_the_file(tmp_path, caplog, make):
    path = tmp_path / f"{make.__name__}.npz"
    reason = make(path)
    with caplog.at_level(logging.WARNING, logger="rag.reader"):
        assert reader_for(str(path)) is None
    assert [r.getMessage() for r in caplog.records] == [
        f"Bộ đọc tắt ({path}: {reason}); chỉ dùng quy tắc."
    ]
    assert reader_state(str(path)) == f"tắt: {path}: {reason}"


@pytest.mark.parametrize("make", [truncated, with_nan], ids=lambda make: make.__name__)
def test_a_status_line_judges_weights_not_yet_loaded_by_their_file(tmp_path, caplog, make):
    path = tmp_path / f"{make.__name__}.npz"
    reason = make(path)
    with caplog.at_level(logging.WARNING, logger="rag.reader"):
        assert reader_state(str(path), load=False) == f"tắt: {path}: {reason}"
    assert caplog.records == []  # nothing loaded: the warning comes with the load
    good = tmp_path / "dung.npz"
    np.savez(good, **bundled())
    assert reader_state(str(good), load=False) == str(good)


def test_weights_without_their_head_are_refused(tmp_path, caplog):
    path = tmp_path / "khong-dau.npz"
    params = bundled()
    np.savez(path, **{n: v for n, v in params.items() if not n.startswith("head.")})
    with caplog.at_level(logging.WARNING, logger="rag.reader"):
        assert reader_for(str(path)) is None
    state = reader_state(str(path))
    # The head's first array is named, whichever check finds it missing.
    assert state.startswith(f"tắt: {path}: ") and "thiếu head.weight" in state
    assert len(caplog.records) == 1 and str(path) in caplog.records[0].getMessage()


def test_the_bundled_weights_pass_the_checks():
    assert reader_for("bundled") is not None
    assert (reader_state("bundled"), reader_state("off")) == ("bundled", "off")


def test_the_page_status_says_the_reader_is_off_and_why():
    status = Status(
        documents=5,
        chunks=50,
        embedding_model="hashing",
        embedding_fallback=False,
        vectors_pending=0,
        llm=None,
        retrieval_mode="hybrid",
        data_dir="data",
        corpus=None,
        reader=f"tắt: /tmp/r.npz: {NOT_NPZ}",
    )
    html = ui.status_html(status)
    assert html.startswith(
        '<details class="status"><summary title="Bấm để xem chi tiết">Trả lời bằng trích dẫn '
        'từ tài liệu · 5 tài liệu · <span class="error">bộ đọc tắt</span></summary>'
    )
    assert html.endswith(
        '<li><span class="error">Bộ đọc câu trả lời tắt, chỉ dùng quy tắc: '
        f"/tmp/r.npz: {NOT_NPZ}</span></li></ul></details>"
    )
    assert "bộ đọc" not in ui.status_html(replace(status, reader="bundled")).lower()


@pytest.mark.slow
@pytest.mark.parametrize("make", [truncated, with_a_wrong_shape], ids=lambda m: m.__name__)
def test_ask_and_info_with_bad_weights_answer_by_the_rules_and_say_why(tmp_path, seed_corpus, make):
    weights = tmp_path / "bad.npz"
    reason = make(weights)
    corpus = tmp_path / "corpus"
    shutil.copytree(seed_corpus, corpus)
    env = {
        **os.environ,
        "RAG_DATA_DIR": str(tmp_path / "data"),
        "RAG_EMBEDDING_MODEL": "hashing",
        "PYTHONPATH": str(REPO),
    }

    def rag(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "rag", *args],
            env={**env, "RAG_READER": str(weights)},
            capture_output=True,
            text=True,
            timeout=300,
        )

    assert rag("ingest", str(corpus)).returncode == 0
    ask, info, text = rag("ask", WHO, "--json"), rag("info", "--json"), rag("info")
    line = f"Bộ đọc tắt ({weights}: {reason}); chỉ dùng quy tắc.\n"
    assert (ask.returncode, ask.stderr) == (0, line)
    assert "Lê Minh Đức" in json.loads(ask.stdout)["short_answer"]
    assert json.loads(info.stdout)["reader"] == f"tắt: {weights}: {reason}"
    assert f"Bộ đọc: tắt: {weights}: {reason}\n" in text.stdout
    assert info.stderr == text.stderr == line
