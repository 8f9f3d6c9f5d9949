"""Mapping profiles: one TOML declaration per timing program, read by both directions of the file layer.

A profile names the target program, the file kinds it writes, the encoding, delimiter and line ending,
the formula-injection policy and the ordered columns (header, canonical source field, value map, date
format, width, text type, event naming). Built-in profiles live in ``mappings/`` and load exactly like
a user's own ``.toml`` file; every profile is validated by ``schemas/profile.schema.json``.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

import orjson

from ..errors import ProfileError
from ..model import CANONICAL_FIELDS, PARTICIPANT_KEYS
from ..resources import data_dir

_MODELLED_TOP = {"registration_id", "event_id", "bib_num", "chip_num", "age", "registration_date", "team_id",
                 "team_name", "team_type_id", "team_type", "team_gender", "team_bib_num", "last_modified",
                 "checked_in", "checkin_date", "user"}
# Extra API fields a column may name by their key (kept in Participant.extra).
EXTRA_FIELDS = tuple(k for k in PARTICIPANT_KEYS if k not in _MODELLED_TOP)
TEAM_FIELDS = ("team_id", "team_type_id", "team_name", "team_gender", "team_bib", "team_age_restriction_id",
               "last_modified")
_TEMPLATE_RE = re.compile(r"\{([^{}]*)\}")
_NORMALISE_RE = re.compile(r"[\W_]+", re.UNICODE)


def normalise_header(text: str) -> str:
    """Header lookup key: case-insensitive, ignoring spaces, underscores and punctuation."""
    return _NORMALISE_RE.sub("", str(text)).casefold()


@dataclass(frozen=True)
class Column:
    """One column of a profile. ``kind`` is ``field`` (canonical), ``extra`` (API key), ``template``
    (write-only combination such as ``"{first_name} {last_name}"``)."""

    header: str
    source: str
    kind: str
    type: str = "text"
    required: bool = False
    map: dict[str, str] = field(default_factory=dict)
    reverse: dict[str, str] = field(default_factory=dict)  # casefolded file value -> canonical value
    blank: str | None = None
    other: str | None = None  # what a value the map lacks is written as (a non-binary gender: "U", "")
    date_format: str | None = None
    max_width: int | None = None
    zero_pad: int | None = None
    neutralize: bool | None = None
    event: str | None = None  # for event_id columns: "id", "name", "order" or "map"
    template_fields: tuple[str, ...] = ()
    xlsx_date: bool = False  # a date column written as a real date cell in .xlsx

    @property
    def key(self) -> str:
        return normalise_header(self.header)


@dataclass(frozen=True)
class Profile:
    """A mapping profile as loaded: its columns, file kinds and the rules the reader and writer apply."""
    name: str
    description: str
    target: str
    kinds: tuple[str, ...]
    default_kind: str
    encoding: str
    delimiter: str
    line_ending: str
    neutralize_csv: bool
    event: str
    event_map: dict[int, str]
    columns: tuple[Column, ...]
    team_columns: tuple[Column, ...]
    path: str
    text: str
    stops_at_blank_row: bool = False  # the program stops importing at a blank row (Race Result)
    reads_csv_directly: bool = False  # the program imports the CSV/TXT as it is (a guard ' shows there)
    earliest_dob: str = "1900-01-01"  # dates of birth before it are implausible
    extra_columns: bool = False  # fields no column names get a column each (the lossless raceentry profile)

    @property
    def headers(self) -> list[str]:
        return [c.header for c in self.columns]

    @property
    def required_columns(self) -> list[Column]:
        return [c for c in self.columns if c.required or c.source == "registration_id"]


def with_extra_columns(profile: Profile, keys: Iterable[str]) -> Profile:
    """``profile`` with a text column for each of ``keys`` (an API key, ``user.<key>`` or
    ``address.<key>``) that no column names yet, after its own columns. For ``extra_columns`` profiles."""
    taken = {c.key for c in profile.columns} | {normalise_header(c.source) for c in profile.columns}
    new = []
    for key in keys:
        if key and normalise_header(key) not in taken:
            taken.add(normalise_header(key))
            new.append(Column(header=key, source=key, kind="extra"))
    return dataclasses.replace(profile, columns=profile.columns + tuple(new)) if new else profile


def builtin_dir() -> Path:
    """The folder of the bundled profiles (``mappings/``, installed or beside the package)."""
    return data_dir("mappings")


def builtin_names() -> list[str]:
    """The names of the bundled profiles, sorted."""
    return sorted(p.stem for p in builtin_dir().glob("*.toml"))


def builtin_name(text: str) -> str:
    """A built-in profile's name however it is capitalised (``RunScore`` is ``runscore``); anything else
    (a path, an unknown name) as given."""
    if text.endswith(".toml") or "/" in text or "\\" in text:
        return text
    return next((name for name in builtin_names() if name.casefold() == text.casefold()), text)


def _resolve(name_or_path: str | Path) -> tuple[Path, str]:
    text = builtin_name(str(name_or_path))
    candidate = Path(text)
    if text.endswith(".toml") or "/" in text or "\\" in text or (candidate.is_file() and text not in builtin_names()):
        if not candidate.is_file():
            raise ProfileError(f"{text}: profile file not found")
        return candidate, text
    path = builtin_dir() / f"{text}.toml"
    if not path.is_file():
        raise ProfileError(f"unknown profile {text!r}; choose one of: {', '.join(builtin_names())} "
                           f"(or give the path of your own .toml)")
    return path, f"mappings/{text}.toml"


def load_profile(name_or_path: str | Path) -> Profile:
    """A built-in profile by name (``raceresult``) or a user's profile by path (``my.toml``)."""
    path, shown = _resolve(name_or_path)
    return _load(str(path.resolve()), shown, path.stat().st_mtime_ns)


def profile_text(name_or_path: str | Path) -> str:
    """The TOML text of a profile, so a user can copy and adapt it."""
    path, _ = _resolve(name_or_path)
    return path.read_text(encoding="utf-8")


def list_profiles() -> list[tuple[str, str]]:
    """``(name, one-line description)`` of every built-in profile."""
    return [(name, load_profile(name).description) for name in builtin_names()]


@lru_cache(maxsize=None)
def _schema() -> Any:
    return orjson.loads((data_dir("schemas") / "profile.schema.json").read_bytes())


@lru_cache(maxsize=None)
def _fast_validator() -> Any:
    import jsonschema_rs

    return jsonschema_rs.validator_for(_schema())


@lru_cache(maxsize=None)
def _schema_validator() -> Any:
    """The pure-Python validator, for its messages: only loaded (about 30 ms) when a profile is wrong."""
    import jsonschema

    return jsonschema.Draft202012Validator(_schema())


def _key_path(parts: Any) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


@lru_cache(maxsize=64)
def _load(path: str, shown: str, _mtime: int) -> Profile:
    text = Path(path).read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{shown}: not valid TOML ({exc})") from None
    errors = [] if _fast_validator().is_valid(data) else sorted(_schema_validator().iter_errors(data),
                                                                 key=lambda e: list(e.absolute_path))
    if errors:
        err = errors[0]
        raise ProfileError(f"{shown}: {_key_path(err.absolute_path)}: {err.message}")
    event_default = data.get("event", "id")
    columns = tuple(_column(c, f"columns[{i}]", shown, event_default, team=False)
                    for i, c in enumerate(data["columns"]))
    team_columns = tuple(_column(c, f"teams.columns[{i}]", shown, event_default, team=True)
                         for i, c in enumerate(data.get("teams", {}).get("columns", ())))
    for where, cols in (("columns", columns), ("teams.columns", team_columns)):
        seen: dict[str, int] = {}
        for i, c in enumerate(cols):
            if c.key in seen:
                raise ProfileError(f"{shown}: {where}[{i}].header: {c.header!r} is the same header as "
                                   f"{where}[{seen[c.key]}] (headers match ignoring case and punctuation)")
            seen[c.key] = i
    if not any(c.source == "registration_id" for c in columns):
        raise ProfileError(f"{shown}: columns: every profile must carry the registration id "
                           f"(a column with source = \"registration_id\")")
    if team_columns and not any(c.source == "team_id" for c in team_columns):
        raise ProfileError(f"{shown}: teams.columns: the teams table must carry team_id")
    event_map = {int(k): str(v) for k, v in data.get("event_map", {}).items()}
    if any(c.event == "map" for c in columns) and not event_map and "event_map" not in data:
        raise ProfileError(f"{shown}: event_map: event = \"map\" needs an [event_map] table (e.g. 16 = 1)")
    kinds = tuple(data["kinds"])
    default_kind = data.get("default_kind", kinds[0])
    if default_kind not in kinds:
        raise ProfileError(f"{shown}: default_kind: {default_kind!r} is not one of kinds {list(kinds)}")
    return Profile(
        name=data["name"], description=data["description"], target=data["target"], kinds=kinds,
        default_kind=default_kind, encoding=data.get("encoding", "utf-8"), delimiter=data.get("delimiter", ","),
        line_ending=data.get("line_ending", "\r\n"), neutralize_csv=data.get("neutralize_csv", True),
        stops_at_blank_row=bool(data.get("stops_at_blank_row", False)),
        reads_csv_directly=bool(data.get("reads_csv_directly", False)),
        extra_columns=bool(data.get("extra_columns", False)),
        earliest_dob=str(data.get("earliest_dob", "1900-01-01")),
        event=event_default, event_map=event_map, columns=columns, team_columns=team_columns,
        path=shown, text=text)


def _column(c: dict[str, Any], where: str, shown: str, event_default: str, team: bool) -> Column:
    source = c["source"]
    ctype = c.get("type", "text")
    known = TEAM_FIELDS if team else CANONICAL_FIELDS
    kind = "field"
    fields: tuple[str, ...] = ()
    if "{" in source and team:
        raise ProfileError(f"{shown}: {where}.source: the teams table takes plain fields, not templates")
    if "{" in source:
        kind = "template"
        fields = tuple(_TEMPLATE_RE.findall(source))
        for f in fields:
            if f not in known and (team or f not in EXTRA_FIELDS):
                raise ProfileError(f"{shown}: {where}.source: {f!r} in {source!r} is not a known field")
        if c.get("required"):
            raise ProfileError(f"{shown}: {where}.required: a template column is write-only and cannot be required")
    elif source not in known:
        if team or not (source in EXTRA_FIELDS or source.startswith(("user.", "address."))):
            hint = ", ".join(known)
            raise ProfileError(f"{shown}: {where}.source: {source!r} is not a known field (known: {hint}"
                               + ("" if team else ", or an extra API field such as imported, race_fee") + ")")
        kind = "extra"
    if ctype == "date" and not c.get("date_format"):
        raise ProfileError(f"{shown}: {where}.date_format: a date column needs a date_format such as \"%m/%d/%Y\"")
    if "event" in c and source != "event_id":
        raise ProfileError(f"{shown}: {where}.event: only an event_id column can name events")
    mapping = {str(k): str(v) for k, v in c.get("map", {}).items()}
    reverse: dict[str, str] = {}
    for k, v in mapping.items():
        if v.casefold() in reverse and reverse[v.casefold()] != k:
            raise ProfileError(f"{shown}: {where}.map: {v!r} is the value of two keys; the reverse would be ambiguous")
        reverse[v.casefold()] = k
    blank = c.get("blank")
    if blank and blank.casefold() in reverse:
        raise ProfileError(f"{shown}: {where}.blank: {blank!r} is also a mapped value")
    other = c.get("other")
    if other is not None and not mapping:
        raise ProfileError(f"{shown}: {where}.other: says what a value the map lacks becomes, so it needs a map")
    if other and other.casefold() in reverse:
        raise ProfileError(f"{shown}: {where}.other: {other!r} is also a mapped value; reading it back would "
                           f"turn every other value into {reverse[other.casefold()]!r}")
    return Column(header=c["header"], source=source, kind=kind, type=ctype, required=bool(c.get("required")),
                  map=mapping, reverse=reverse, blank=blank, other=other, date_format=c.get("date_format"),
                  max_width=c.get("max_width"), zero_pad=c.get("zero_pad"), neutralize=c.get("neutralize"),
                  event=(c.get("event", event_default) if source == "event_id" and not team else None),
                  template_fields=fields, xlsx_date=bool(c.get("xlsx_date")) and ctype == "date")


def profile_ref(profile: Any) -> str | None:
    """How a binding names a profile: a built-in's name, a user's .toml by absolute path."""
    if profile is None or isinstance(profile, str):
        if isinstance(profile, str) and profile.endswith(".toml") and Path(profile).is_file():
            return str(Path(profile).resolve())
        return profile
    path = str(getattr(profile, "path", "") or "")
    if not path or path == f"mappings/{profile.name}.toml":
        return getattr(profile, "name", None)
    return str(Path(path).resolve())


def same_profile(a: str, b: str) -> bool:
    """Whether two profile references (a name or a .toml path) name the same profile."""
    if a == b:
        return True
    pa, pb = Path(a), Path(b)
    if pa.suffix == ".toml" and pb.suffix == ".toml":
        try:
            return pa.resolve() == pb.resolve()
        except OSError:
            return False
    return pa.stem == pb.stem and (pa.suffix == ".toml") != (pb.suffix == ".toml") and (
        pa.parent.name == "mappings" or pb.parent.name == "mappings")
