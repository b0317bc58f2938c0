"""Which files an ingest may read, and their bytes, read safely.

In: a folder (or one file) and a path under it. Out: the supported files under the folder, a
Vietnamese reason when a path must not be read, and the bytes of one that may, with its doc_id.
Never follows what resolves outside the folder being ingested, never opens what is not a regular
file (nothing can block), never reads more bytes than the size limit.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from rag.errors import DocumentError, too_large

SUPPORTED_SUFFIXES = (".txt", ".md", ".html", ".htm", ".pdf", ".docx")

EMPTY_FILE = "tệp rỗng"
OUTSIDE_ROOT = "liên kết trỏ ra ngoài thư mục đang nạp, không đọc"
NOT_REGULAR = "không phải tệp thường"
# An article is kilobytes; a file this large is a mistake or an attack, and would stall ingest.
MAX_FILE_BYTES = 20 * 1024 * 1024


def iter_document_paths(root: Path) -> list[Path]:
    """Supported files under `root`, sorted, skipping hidden files and folders; a file gives [root].

    Only directory listings are read, so nothing here can block on a FIFO or a device. Symlinked
    folders are never entered; one that leads outside `root` is listed itself, so that the caller
    reports it by name (`source_problem` gives the reason) instead of dropping it silently.
    """
    if not root.is_dir():
        if os.path.lexists(root):
            return [root]
        raise DocumentError(f"không tìm thấy tệp hoặc thư mục: {root}")
    base = os.path.realpath(root)
    found = []
    for dirpath, dirnames, filenames in os.walk(root):  # followlinks=False: no cycles, no escape
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in dirnames:
            folder = os.path.join(dirpath, name)
            if os.path.islink(folder) and not _inside(os.path.realpath(folder), base):
                found.append(Path(folder))
        for name in filenames:
            # "~$" files are Word's lock files, not documents.
            if name.startswith((".", "~$")):
                continue
            if os.path.splitext(name)[1].lower() in SUPPORTED_SUFFIXES:
                found.append(Path(dirpath, name))
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


def source_problem(path: Path, root: Path, max_bytes: int = MAX_FILE_BYTES) -> str | None:
    """Why `path` must not be read as part of the folder `root`, as one Vietnamese line, or None.

    Refused: anything that resolves outside `root` (a symlink, or a symlinked folder on the way),
    anything that is not a regular file (FIFO, socket, device, folder), a file over `max_bytes`,
    an unreadable file. Uses only lstat/stat/realpath/access: never opens `path`, never blocks.
    """
    try:
        os.lstat(path)
        resolved = os.path.realpath(path)
        if not _inside(resolved, os.path.realpath(_folder_of(root))):
            return OUTSIDE_ROOT
        info = os.stat(resolved)
    except OSError as exc:
        return _unreadable(exc)
    if not stat.S_ISREG(info.st_mode):
        return _not_regular(info.st_mode)
    if info.st_size > max_bytes:
        return too_large(info.st_size, max_bytes)
    if not os.access(resolved, os.R_OK):
        return _unreadable(PermissionError(errno.EACCES, os.strerror(errno.EACCES)))
    return None


def read_source(path: Path, max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of `path` (never empty), checked again on the open file: the name may have been swapped for a
    link, a FIFO or a bigger file since `source_problem` looked at it."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise DocumentError(_unreadable(exc)) from exc
    with open(fd, "rb", closefd=True) as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise DocumentError(_not_regular(info.st_mode))
        if info.st_size > max_bytes:
            raise DocumentError(too_large(info.st_size, max_bytes))
        try:
            # One byte more than allowed tells a file that grew after fstat from one that did not.
            data = handle.read(max_bytes + 1)
        except OSError as exc:
            raise DocumentError(_unreadable(exc)) from exc
    if len(data) > max_bytes:
        raise DocumentError(too_large(len(data), max_bytes))
    if not data:
        raise DocumentError(EMPTY_FILE)
    return data


def _folder_of(root: Path) -> Path:
    """The folder being ingested: `root` itself, or the folder of a single file."""
    return root if root.is_dir() else root.parent


def _inside(resolved: str, base: str) -> bool:
    return resolved == base or resolved.startswith(base.rstrip(os.sep) + os.sep)


_KINDS = (
    (stat.S_ISDIR, "thư mục"),
    (stat.S_ISFIFO, "FIFO"),
    (stat.S_ISSOCK, "socket"),
    (stat.S_ISCHR, "thiết bị"),
    (stat.S_ISBLK, "thiết bị"),
)


def _not_regular(mode: int) -> str:
    kind = next((name for test, name in _KINDS if test(mode)), "tệp đặc biệt")
    return f"{NOT_REGULAR} ({kind})"


_OS_REASONS = {
    errno.ENOENT: "không tìm thấy tệp",
    errno.EACCES: "không có quyền đọc",
    errno.EPERM: "không có quyền đọc",
    errno.ELOOP: "vòng lặp liên kết tượng trưng",
    errno.ENAMETOOLONG: "đường dẫn quá dài",
}


def _unreadable(exc: OSError) -> str:
    reason = _OS_REASONS.get(exc.errno) or exc.strerror or type(exc).__name__
    return f"không đọc được tệp: {reason}"


def doc_id_for(path: Path, root: Path) -> str:
    """A file's doc_id, the one rule of the store, the loader and the outcomes: its path under
    the folder `root` in POSIX form; its bare name when `root` is the file itself or the file
    lies outside it. Not resolved: a link's own name is its doc_id (where it leads is
    `source_problem`'s concern)."""
    path, root = Path(os.path.abspath(path)), Path(os.path.abspath(root))
    if path == root or not path.is_relative_to(root):
        return path.name
    return path.relative_to(root).as_posix()
    try:
        return path.absolute().relative_to(root.absolute()).as_posix()
    except ValueError:
        return path.name
