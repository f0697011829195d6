"""Admin lists over tables of millions of rows: a page count that stops counting.

Django's paginator counts every matching row (`SELECT COUNT(*)`) for each page it shows; at a
million webhook events that count alone takes longer than the page should. CappedPaginator
counts at most COUNT_CAP + 1 rows: below the cap the count is exact, above it the list says
"more than 10,000" and offers the pages up to the cap (filters and the search narrow it)."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.utils.functional import cached_property

COUNT_CAP = 10_000


class CappedPaginator(Paginator):  # type: ignore[type-arg]
    cap = COUNT_CAP

    @cached_property
    def count(self) -> int:
        """The number of rows, or COUNT_CAP + 1 when there are more than COUNT_CAP."""
        object_list: Any = self.object_list
        if not hasattr(object_list, "query"):
            return len(object_list)
        return int(object_list.order_by()[: self.cap + 1].count())

    @property
    def capped(self) -> bool:
        return self.count > self.cap
