"""The errors a user may meet, and the one-line messages that describe them.

In: exceptions raised anywhere in `rag`. Out: one Vietnamese line for the page, the CLI and the
evaluation (`str(error)`). Every expected condition raises a subclass of `RagError`, so each
front end catches one class and never shows a traceback for it.
Never: a message over one line, or one rule worded in two places.
"""

from __future__ import annotations

import errno


class RagError(Exception):
    """An expected condition; `str(e)` is one line in Vietnamese, shown to the user as is."""


class ConfigError(RagError, ValueError):
    """A setting has a value the assistant cannot use; the message names it."""


class DocumentError(RagError):
    """A file that cannot be ingested; the message is its reason, e.g. 'tệp rỗng'."""


class StoreError(RagError, RuntimeError):
    """The index cannot be read or written; the message says what to do."""


class QueryError(RagError, ValueError):
    """A question or filter the assistant cannot search with."""


class DateError(RagError, ValueError):
    """A date in none of the accepted forms (17/02/2023, 2023-02-17)."""


class UploadError(RagError, ValueError):
    """A file the page refuses before reading it."""


class FilterError(RagError, ValueError):
    """A filter value the page cannot use."""


class UsageError(RagError):
    """Bad input on a command line (exit 2)."""


def one_line(text: str) -> str:
    """`text` with every run of whitespace, line breaks included, as one space."""
    return " ".join(text.split())


def describe(exc: BaseException, *, with_type: bool = False, limit: int = 200) -> str:
    """An unexpected exception as one short line: its message (and class name, for errors whose
    message alone would mean nothing to the user), or the class name when it has no message."""
    text = one_line(str(exc))[:limit]
    if not text:
        return type(exc).__name__
    return f"{type(exc).__name__}: {text}" if with_type else text


_UNITS = ((1 << 20, "MB"), (1 << 10, "KB"), (1, "byte"))


def too_large(size: int, limit: int) -> str:
    """'tệp quá lớn (50.0 MB; tối đa 20 MB)': both sizes in the limit's unit, and in bytes when
    that unit would round the file down to the limit (which would say nothing)."""
    scale, unit = next((s, u) for s, u in _UNITS if limit >= s or s == 1)
    shown, most = f"{size / scale:.1f}", f"{limit / scale:.1f}".removesuffix(".0")
    if scale == 1 or float(shown) <= float(most):
        shown, most, unit = f"{size:,}", f"{limit:,}", "byte"
    return f"tệp quá lớn ({shown} {unit}; tối đa {most} {unit})"


def disk_full(exc: BaseException) -> bool:
    """Whether `exc` says the disk (or the user's quota) is full, from the OS or from SQLite."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(exc).lower()
    return any(s in text for s in ("disk is full", "no space left", "quota exceeded"))


def write_failed(exc: BaseException, what: str = "chỉ mục") -> str:
    """One line for a failed write; a full disk is named as such (the last index stays)."""
    if disk_full(exc):
        return (
            f"Đĩa đầy: không ghi được {what}; chỉ mục trước vẫn nguyên vẹn và vẫn tìm được. "
            "Hãy giải phóng dung lượng rồi nạp lại."
        )
    return f"Không ghi được {what}: {describe(exc, with_type=True)}"
