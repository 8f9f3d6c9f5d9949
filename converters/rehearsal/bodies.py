"""Reading a request: the fields of its body, the JSON request object a POST carries, and the typed
values in it (ids, blanks, paging numbers), with RaceEntry's error when one cannot be read."""

from __future__ import annotations

import urllib.parse
from email.parser import BytesParser
from email.policy import HTTP as HTTP_POLICY
from typing import Any, Callable

import orjson

from .protocol import ERR_BAD_REQUEST, ApiError, RowError


def looks_json(ctype: str, raw: bytes) -> bool:
    """Whether a body is JSON: said so by its Content-Type, or starting like JSON."""
    return "json" in ctype.lower() or raw.lstrip().startswith((b"{", b"["))


def json_object(data: str | bytes, where: str) -> dict:
    """``data`` read as a JSON object; ApiError 400 naming ``where`` when it is not JSON or not an object."""
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise ApiError(ERR_BAD_REQUEST, f"Invalid JSON in {where}") from None
    if not isinstance(obj, dict):
        raise ApiError(ERR_BAD_REQUEST, "Request must be a JSON object")
    return obj


def body_fields(ctype: str, raw: bytes) -> dict:
    """The fields of a form-urlencoded, multipart/form-data or JSON-object body (last value wins)."""
    if not raw.strip():
        return {}
    if "multipart/form-data" in ctype.lower():
        msg = BytesParser(policy=HTTP_POLICY).parsebytes(
            b"Content-Type: " + ctype.encode("latin-1", "replace") + b"\r\n\r\n" + raw)
        return {part.get_param("name", header="content-disposition"):
                (part.get_payload(decode=True) or b"").decode(part.get_content_charset() or "utf-8", "replace")
                for part in msg.iter_parts() if part.get_param("name", header="content-disposition")}
    if looks_json(ctype, raw):
        return json_object(raw, "the request body")
    text = raw.decode("utf-8", "replace")
    return {k: v[-1] for k, v in urllib.parse.parse_qs(text, keep_blank_values=True).items()}


def request_object(ctype: str, raw: bytes, query: dict) -> dict:
    """The request's JSON object: the JSON text of the field ``request`` ("Key: request, Type: JSON
    string") in the body (form-urlencoded, multipart, or a JSON object carrying it) or the query string.
    A raw JSON body without ``request`` is refused: the document shows none."""
    fields = body_fields(ctype, raw)
    if "request" in fields:
        value = fields["request"]
    elif "request" in query:
        value = query["request"]
    else:
        raise ApiError(ERR_BAD_REQUEST, "Missing request parameter")
    if isinstance(value, str):
        return json_object(value, "request")
    if not isinstance(value, dict):
        raise ApiError(ERR_BAD_REQUEST, "Request must be a JSON object")
    return value


def blank(v: Any) -> bool:
    """Whether a sent value is blank: null, or text of nothing but spaces."""
    return v is None or (isinstance(v, str) and v.strip() == "")


def as_int(v: Any, what: str) -> int:
    """A row's value as an integer (a number, or digits in text); RowError naming ``what`` otherwise."""
    if isinstance(v, bool):
        raise RowError(f"{what} must be an integer")
    if isinstance(v, int):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, str) and v.strip().lstrip("-").isdigit():
        return int(v.strip())
    raise RowError(f"{what} must be an integer, got {v!r}")


def str_or_none(v: Any) -> str | None:
    """A row's value as stored text: null stays null, a flag becomes T/F, a whole float loses its .0."""
    if v is None:
        return None
    if isinstance(v, bool):
        return "T" if v else "F"
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return str(v)


def row_label(i: int, row: Any, key: str) -> str:
    """``row N``, with the row's id when it has one (``row 2 (registration_id 1234)``)."""
    rid = row.get(key) if isinstance(row, dict) else None
    return f"row {i}" if blank(rid) or isinstance(rid, (dict, list)) else f"row {i} ({key} {rid})"


def int_param(query: dict, name: str, convert: Callable[[str], int] = int) -> int | None:
    """A query parameter as an integer (None when absent or empty); ApiError 400 when it is not one."""
    v = query.get(name)
    if v is None or v == "":
        return None
    try:
        return convert(v)
    except (ValueError, OverflowError):
        raise ApiError(ERR_BAD_REQUEST, f"{name} must be an integer, got {v!r}") from None
