"""Domain errors raised below the API layer; the API maps each to one HTTP status and code."""

from __future__ import annotations


class ConciergeError(Exception):
    """Base class: ``code`` is the stable machine-readable name sent to clients."""

    code = "internal_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class PropertyNotFound(ConciergeError):
    """The guest asked about a property that does not exist."""

    code = "property_not_found"


class Overloaded(ConciergeError):
    """A bounded queue is full: the client should retry after a short pause."""

    code = "overloaded"

    def __init__(self, message: str, retry_after_s: int = 1) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class RateLimited(Overloaded):
    """A client or a property sent more requests than its rate limit allows."""

    code = "rate_limited"


class DependencyUnavailable(ConciergeError):
    """The database (or another dependency) cannot be reached right now."""

    code = "unavailable"


class RequestTimedOut(ConciergeError):
    """The request did not finish within its time budget."""

    code = "timeout"


class SchemaMismatch(ConciergeError):
    """The database schema is not what this code expects; the message says what to run."""

    code = "schema_mismatch"


class InvalidRequest(ConciergeError):
    """The request is well-formed JSON but asks for something outside the limits."""

    code = "invalid_request"


class NotFound(ConciergeError):
    """The addressed resource (a job, a document) does not exist."""

    code = "not_found"


class Conflict(ConciergeError):
    """The request conflicts with the current state (e.g. a job that cannot be retried)."""

    code = "conflict"


class Unauthorized(ConciergeError):
    """No credentials were sent for a protected route."""

    code = "unauthorized"


class Forbidden(ConciergeError):
    """The credentials sent are not valid for this route."""

    code = "forbidden"


class AdminDisabled(ConciergeError):
    """The admin API has no token configured, so it refuses every request."""

    code = "admin_disabled"


class PayloadTooLarge(ConciergeError):
    """An uploaded file is larger than allowed."""

    code = "payload_too_large"
