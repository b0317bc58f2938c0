"""Files a user hands in (the page's uploads) before they join the corpus folder.

In: a file's name as the browser sent it, its size, its temporary path, and the folder the web
server received uploads into. Out: the safe name to store it under, or an `UploadError` saying
why it is refused; an atomic copy into the folder.
Never reads a file the size limit refuses, a path outside the upload folder (whatever a client
claims it uploaded) or a link, and never writes outside the corpus folder.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
import unicodedata
from pathlib import Path, PurePosixPath, PureWindowsPath

from rag.documents import SUPPORTED_SUFFIXES
from rag.errors import UploadError, too_large

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
UPLOAD_SUFFIXES = SUPPORTED_SUFFIXES
MAX_FILENAME_CHARS = 120
BAD_NAME = "tên tệp không hợp lệ"
NOT_RECEIVED = "chỉ nhận tệp tải lên qua trang này; tệp khác trên máy chủ không được đọc"

_UNSAFE_NAME_CHARS = re.compile(r"[^\w .()+,-]")


def safe_filename(name: str) -> str:
    """The last path component of an uploaded file's name, without control characters or
    characters a shell or file system treats specially; '' when nothing usable is left."""
    name = unicodedata.normalize("NFC", name or "")
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C")
    base = PureWindowsPath(PurePosixPath(name).name).name
    base = _UNSAFE_NAME_CHARS.sub("_", base)
    base = re.sub(r"\s+", " ", base).strip(" .")
    if len(base) > MAX_FILENAME_CHARS:
        stem, suffix = Path(base).stem, Path(base).suffix
        base = stem[: MAX_FILENAME_CHARS - len(suffix)].rstrip(" .") + suffix
    return base


def check_upload(name: str, size: int, limit: int = MAX_UPLOAD_BYTES) -> str:
    """The safe name to store an upload under, or UploadError saying why it is refused."""
    safe = safe_filename(name)
    if not Path(safe).stem:
        raise UploadError(BAD_NAME)
    suffix = Path(safe).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        allowed = ", ".join(UPLOAD_SUFFIXES)
        raise UploadError(
            f"loại tệp không được hỗ trợ ({suffix or 'không có đuôi'}; nhận {allowed})"
        )
    if size > limit:
        raise UploadError(too_large(size, limit))
    if size == 0:
        raise UploadError("tệp rỗng")
    return safe


def received_file(path: str | os.PathLike, folder: str | os.PathLike) -> Path:
    """`path` when it is a regular file inside `folder` (where the web server writes what it
    receives), with no link on the way from the folder to it; else UploadError(NOT_RECEIVED).
    A client names the file it uploaded by path, so the path itself is not to be trusted."""
    if not isinstance(path, (str, os.PathLike)) or not str(path):
        raise UploadError(NOT_RECEIVED)
    root = Path(folder).resolve()
    given = Path(os.path.abspath(path))
    # The folder as configured may itself sit behind a link (/tmp -> /private/tmp); below it,
    # the path as given must already be the resolved one.
    for base in (Path(os.path.abspath(folder)), root):
        if given.is_relative_to(base) and given != base:
            inside = root / given.relative_to(base)
            break
    else:
        raise UploadError(NOT_RECEIVED)
    try:
        mode = os.lstat(inside).st_mode
        resolved = inside.resolve(strict=True)
    except (OSError, RuntimeError):  # gone, or a loop of links
        raise UploadError(NOT_RECEIVED) from None
    if resolved != inside or not stat.S_ISREG(mode):
        raise UploadError(NOT_RECEIVED)
    return inside


def copy_atomic(source: Path, target: Path) -> None:
    """`source` to `target` through a temporary file in the same folder: a reader (or a crash)
    never sees half a file under the real name."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
    os.close(fd)
    try:
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
