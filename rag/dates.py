"""Dates as people type them in a filter: one rule for the page and the CLI.

In: '17/02/2023', '17/2/2023' or '2023-02-17' (spaces around ignored), or nothing; an ISO date
to show. Out: the ISO date '2023-02-17', or None for nothing; `DateError` with one Vietnamese
line that names the field otherwise; a range's two ends; a date shown as '17/02/2023'.
Never guesses: a day that does not exist (31/02/2023) is an error.
"""

from __future__ import annotations

import re
from datetime import date

from rag.errors import DateError

_VN_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
FROM_LABEL = "Từ ngày"
TO_LABEL = "Đến ngày"


def parse_date(value: str | None, label: str) -> str | None:
    """'17/02/2023' or '2023-02-17' -> '2023-02-17'; '' or None -> None; else DateError."""
    text = (value or "").strip()
    if not text:
        return None
    try:
        if m := _VN_DATE.fullmatch(text):
            return date(int(m.group(3)), int(m.group(2)), int(m.group(1))).isoformat()
        # fromisoformat alone would also take '20230217' and week dates; the filter does not.
        if _ISO_DATE.fullmatch(text):
            return date.fromisoformat(text).isoformat()
    except ValueError:
        pass
    raise DateError(f"{label} không hợp lệ: {text!r} (dạng 17/02/2023 hoặc 2023-02-17)")


def display_date(iso: str | None) -> str:
    """'2023-02-17' -> '17/02/2023', the way Vietnamese readers write dates (and the way the
    page's date boxes ask for them); '' for no date, and a stored value that is not an ISO
    date as it is: showing a date never fails."""
    if not iso:
        return ""
    try:
        return date.fromisoformat(iso).strftime("%d/%m/%Y")
    except ValueError:
        return iso


def date_range(date_from: str | None, date_to: str | None) -> tuple[str | None, str | None]:
    """Both ends of a filter as ISO dates (None when open); DateError when one is invalid or
    the range runs backwards."""
    start = parse_date(date_from, FROM_LABEL)
    end = parse_date(date_to, TO_LABEL)
    if start and end and start > end:
        raise DateError(f"Khoảng ngày ngược: từ {display_date(start)} đến {display_date(end)}")
    return start, end


def date_to_int(date: str | None) -> int:
    """'2022-03-07' -> 20220307; 0 when unknown, so range filters can exclude undated articles."""
    return int(date.replace("-", "")) if date else 0
