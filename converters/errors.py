"""Exceptions the library raises. Each carries one line a race timer can act on; the CLI prints it
(no traceback unless --debug) and exits non-zero."""

from __future__ import annotations


class TimersyncError(Exception):
    """Base class: ``str(exc)`` is the one-line message for the user."""

    exit_code = 1


class ShapeError(TimersyncError):
    """JSON of the wrong shape."""


class SchemaError(TimersyncError):
    """JSON that violates a schema in ``schemas/``; the message names the JSON path."""


class ApiError(TimersyncError):
    """RaceEntry answered with an error, or not at all."""

    def __init__(self, message: str, code: int | None = None, status: int | None = None):
        super().__init__(message)
        self.code = code
        self.status = status


class ShortRead(ApiError):
    """A read of a race that lacks a large share of the runners the previous read had, with no removals
    to account for them: an answer cut short, never written, planned or synced from."""


class AuthError(ApiError):
    """Login rejected, or credentials missing/expired."""


class ConnectionFailed(ApiError):
    """RaceEntry unreachable (after retries for GETs)."""


class ResponseLost(ApiError):
    """A POST was sent but no answer arrived: it may or may not have been applied."""


class AnsweredError(ResponseLost):
    """A POST was answered with an error that does not say whether anything was applied (error 102, an
    expired key: the document promises nothing about when it is checked). Read back before re-sending.
    ``login_needed``: logging in again failed (no password at hand): the timer must log in first."""

    def __init__(self, message: str, code: int | None = None, status: int | None = None,
                 login_needed: bool = False):
        super().__init__(message, code, status)
        self.login_needed = login_needed


class InputError(TimersyncError):
    """Bad input file: names the file, and where known the row and column."""

    def __init__(self, message: str, file: str | None = None, row: int | None = None, column: str | None = None):
        where = []
        if file:
            where.append(str(file))
        if row is not None:
            where.append(f"row {row}")
        if column:
            where.append(f"column {column!r}")
        super().__init__(": ".join([", ".join(where), message]) if where else message)
        self.file, self.row, self.column = file, row, column


class CutShort(InputError):
    """A file that looks cut short (a copy interrupted, a writer still busy): never planned."""


class ProfileError(TimersyncError):
    """A mapping profile that is unknown or invalid; names the file and key."""


class PlanError(TimersyncError):
    """A diff/push plan that cannot go ahead (guards, conflicts, invalid rows)."""
