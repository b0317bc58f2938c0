"""Metadata filters (a date range, an outlet, a set of documents): one rule for every path.

In: what a user typed in the page's boxes or the CLI's options, or a `Filters` value; the
filtered metadata of passages or documents (`filter_fields`). Out: `Filters`; the conditions it
sets, in Chroma's `where` language, which the dense search hands to Chroma and which `mask`
evaluates here for the lexical search and the collection's documents.
Never: a second statement of a condition. A date range keeps both of its ends, and an article
without a date lies outside every range.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from rag.dates import FROM_LABEL, TO_LABEL, date_range, date_to_int
from rag.errors import FilterError

OUTLET_LABEL = "Nguồn"
DOCS_LABEL = "Tài liệu cần lọc"


def _is_in(column: np.ndarray, values: object) -> np.ndarray:
    # A set lookup per row: np.isin sorts object arrays, 0.37 s for 100,000 passages.
    wanted = set(values)
    return np.fromiter((v in wanted for v in column), dtype=bool, count=len(column))


# How `mask` evaluates each operator of the conditions; Chroma evaluates the same ones itself.
_OPERATORS: dict[str, Callable[[np.ndarray, object], np.ndarray]] = {
    "$eq": np.equal,
    "$in": _is_in,
    "$gt": np.greater,
    "$gte": np.greater_equal,
    "$lte": np.less_equal,
}


class Described(Protocol):
    """Anything filters apply to: a passage (`Chunk`) or a document."""

    doc_id: str
    outlet: str | None
    date: str | None


# The metadata filters read, as Chroma stores it with each passage (no None values; the date as
# a sortable int, 0 when unknown): each field's value of an item, and its array type.
_FIELDS: dict[str, tuple[Callable[[Described], str | int], type]] = {
    "doc_id": (lambda item: item.doc_id, object),
    "outlet": (lambda item: item.outlet or "", object),
    "date_int": (lambda item: date_to_int(item.date), np.int64),
}


def filter_fields(item: Described) -> dict[str, str | int]:
    """The filtered metadata of one passage, as Chroma stores it."""
    return {name: value(item) for name, (value, _) in _FIELDS.items()}


def columns(items: Sequence[Described]) -> dict[str, np.ndarray]:
    """The same fields of many items, one array per field, for `Filters.mask`."""
    return {
        name: np.array([value(i) for i in items], dtype=kind)
        for name, (value, kind) in _FIELDS.items()
    }


@dataclass(frozen=True)
class Filters:
    """Metadata filters; an unset field does not filter."""

    doc_ids: tuple[str, ...] | None = None
    outlet: str | None = None
    date_from: str | None = None  # ISO dates, both kept
    date_to: str | None = None

    def __bool__(self) -> bool:
        return any(v is not None for v in (self.doc_ids, self.outlet, self.date_from, self.date_to))

    @classmethod
    def of(
        cls,
        date_from: str | None = None,
        date_to: str | None = None,
        outlet: str | None = None,
        doc_ids: Iterable[str] | None = None,
    ) -> Filters | None:
        """The filters a user typed (dates as 17/02/2023 or 2023-02-17, blanks for none), or
        None when nothing filters; `DateError` for a date that does not exist or a range that
        runs backwards, `FilterError` for a value that is not text (a client of the page's API
        may send anything)."""
        for label, value in ((FROM_LABEL, date_from), (TO_LABEL, date_to), (OUTLET_LABEL, outlet)):
            if value is not None and not isinstance(value, str):
                raise FilterError(f"{label} không hợp lệ: {value!r:.60}")
        ids = None if doc_ids is None or isinstance(doc_ids, str) else tuple(doc_ids)
        if doc_ids is not None and (ids is None or not all(isinstance(d, str) for d in ids)):
            raise FilterError(f"{DOCS_LABEL} không hợp lệ: {doc_ids!r:.60}")
        start, end = date_range(date_from, date_to)
        filters = cls(
            doc_ids=ids or None,
            outlet=(outlet or "").strip() or None,
            date_from=start,
            date_to=end,
        )
        return filters or None

    def conditions(self) -> list[dict[str, dict[str, object]]]:
        """Every condition a kept passage meets, as `{field: {operator: value}}`."""
        found: list[dict[str, dict[str, object]]] = []
        if self.doc_ids is not None:
            found.append({"doc_id": {"$in": list(self.doc_ids)}})
        if self.outlet is not None:
            found.append({"outlet": {"$eq": self.outlet}})
        if self.date_from is not None or self.date_to is not None:
            found.append({"date_int": {"$gt": 0}})
        if self.date_from is not None:
            found.append({"date_int": {"$gte": date_to_int(self.date_from)}})
        if self.date_to is not None:
            found.append({"date_int": {"$lte": date_to_int(self.date_to)}})
        return found

    def chroma_where(self) -> dict | None:
        """The conditions as Chroma's `where`; None when nothing filters."""
        found = self.conditions()
        if not found:
            return None
        return found[0] if len(found) == 1 else {"$and": found}

    def mask(self, fields: Mapping[str, np.ndarray]) -> np.ndarray:
        """Which rows of `columns(...)` meet every condition."""
        kept = np.ones(len(fields["doc_id"]), dtype=bool)
        for condition in self.conditions():
            ((field, test),) = condition.items()
            ((operator, value),) = test.items()
            kept &= _OPERATORS[operator](fields[field], value)
        return kept


__all__ = ["Described", "Filters", "columns", "filter_fields"]
