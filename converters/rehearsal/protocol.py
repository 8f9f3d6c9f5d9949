"""What the rehearsal server's answers are made of, shared by every part of it: RaceEntry's error codes,
the limits it keeps, and the two exceptions a request or a row is refused with."""

from __future__ import annotations

import orjson

CREDENTIAL_TTL = 24 * 3600
MAX_RESULTS_PER_PAGE = 2500
MAX_DELETE = 250
MAX_BODY = 10 * 1024 * 1024
MAX_KEPT_KEYS = 100   # invalidated key pairs remembered (to answer 102 rather than 103)
MOVED_PREFIX = "/moved"   # /moved/rest/... serves the same API (where redirect_login sends a login)

ERR_MISSING_AUTH = 100
ERR_LOGIN = 101
ERR_EXPIRED = 102
ERR_BAD_AUTH = 103
ERR_RACE = 104
ERR_BAD_REQUEST = 400
ERR_NOT_FOUND = 404
ERR_INJECTED = 500
# strict: every error is {"error": msg} with a real HTTP status
STRICT_STATUS = {ERR_MISSING_AUTH: 401, ERR_LOGIN: 401, ERR_EXPIRED: 401, ERR_BAD_AUTH: 401, ERR_RACE: 404,
                 ERR_BAD_REQUEST: 400, ERR_NOT_FOUND: 404, ERR_INJECTED: 500}

# quirk 403-key and fault 403_key: the answer of a server that forbids a bad or expired key
FORBIDDEN_KEY = orjson.dumps({"error": {"error_code": 403, "error_msg": "Forbidden: invalid or expired tmp_key"}})


class ApiError(Exception):
    """A refused request: its RaceEntry error code, message and (when not the behaviour's) HTTP status."""

    def __init__(self, code: int, msg: str, http_status: int | None = None):
        super().__init__(msg)
        self.code = code
        self.msg = msg
        self.http_status = http_status


class RowError(Exception):
    """A bad row of a POST: documented answers it in the row's entry, strict refuses the request."""
