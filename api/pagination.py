from __future__ import annotations

from typing import Any

from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.request import Request


class ApiCursorPagination(CursorPagination):
    """Newest first by default (`ordering` changes it); `next`/`previous` are opaque cursors."""

    page_size = 50
    max_page_size = 200
    page_size_query_param = "page_size"
    ordering = "-created_at"

    def decode_cursor(self, request: Request) -> Cursor | None:
        # A cursor we did not make is a bad request (400), not a missing resource.
        try:
            cursor: Any = super().decode_cursor(request)
        except NotFound:
            raise ValidationError(
                {self.cursor_query_param: ["Not a cursor from `next`."]}
            ) from None
        return cursor  # type: ignore[no-any-return]
