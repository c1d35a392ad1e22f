"""Domain errors, mapped to HTTP in one place (``skills.api.exceptions``)."""

from __future__ import annotations


class KernelError(Exception):
    status = 400
    kind = "bad_request"

    def __init__(self, message: str, *, kind: str | None = None, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if kind:
            self.kind = kind
        self.retry_after = retry_after


class NotFound(KernelError):
    status, kind = 404, "not_found"


class Forbidden(KernelError):
    status, kind = 403, "forbidden"


class InvalidInput(KernelError):
    status, kind = 400, "invalid_input"


class PayloadTooLarge(KernelError):
    status, kind = 413, "payload_too_large"


class Unavailable(KernelError):
    status, kind = 503, "unavailable"


class TooManyRequests(KernelError):
    status, kind = 429, "too_many_requests"


class Conflict(KernelError):
    status, kind = 409, "conflict"


class BackendFailed(KernelError):
    """A CSI backend failed: unreachable, timed out, or answered an error."""

    status, kind = 502, "backend_error"


class NotSupported(KernelError):
    status, kind = 501, "not_supported"


class NotConfiguredError(KernelError):
    """No backend for this CSI function is configured on the kernel."""

    status, kind = 503, "not_configured"
