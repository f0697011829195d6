"""Partner API errors: retryable (try again later) or final (retrying cannot help).

Messages name the operation and 360Dialog's own explanation; they never carry a key, a secret,
a header or a response body.
"""

from __future__ import annotations

from collections.abc import Sequence


class PartnerApiError(Exception):
    retryable = False

    def __init__(self, message: str, *, operation: str, status_code: int | None = None) -> None:
        super().__init__(f"{operation}: {message}")
        self.operation = operation
        self.status_code = status_code


class RetryableError(PartnerApiError):
    """429, 5xx or a transport failure: the same call may succeed later."""

    retryable = True

    def __init__(
        self,
        message: str,
        *,
        operation: str,
        status_code: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, operation=operation, status_code=status_code)
        self.retry_after = retry_after


class RateLimitedError(RetryableError):
    pass


class ServerError(RetryableError):
    pass


class TransportError(RetryableError):
    pass


class FinalError(PartnerApiError):
    """A 4xx other than 429, or an answer we cannot read: retrying cannot help."""

    def __init__(
        self,
        message: str,
        *,
        operation: str,
        status_code: int | None = None,
        developer_message: str = "",
        details: Sequence[str] = (),
    ) -> None:
        super().__init__(message, operation=operation, status_code=status_code)
        self.developer_message = developer_message
        self.details = tuple(details)


class NotFoundError(FinalError):
    pass


class UnauthorizedError(FinalError):
    """401/403: the Partner API key is wrong, or the partner may not do this."""


class InvalidResponseError(FinalError):
    """A success status with a body that is not the documented shape."""
