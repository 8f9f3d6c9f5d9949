"""Mapping profiles: every built-in loads and is valid; bad profiles name the file and key."""

from __future__ import annotations

import pytest

from converters.errors import ProfileError
from converters.model import CANONICAL_FIELDS
from converters.files.profiles import (EXTRA_FIELDS, builtin_names, list_profiles, load_profile, normalise_header,
                                       profile_text)

BUILTINS = ["director", "racedayscoring", "raceentry", "raceresult", "runscore"]


def test_builtins_listed_with_one_line_descriptions():
    assert builtin_names() == BUILTINS
    for name, description in list_profiles():
        assert description and "\n" not in description, name


@pytest.mark.parametrize("name", BUILTINS)
def test_builtin_profile_loads_and_carries_registration_id(name):
    p = load_profile(name)
    assert p.name == name
    assert any(c.source == "registration_id" for c in p.required_columns)
    assert p.default_kind in p.kinds
    assert profile_text(name).startswith("#")


def test_raceresult_uses_documented_field_names():
    p = load_profile("raceresult")
    headers = p.headers
    for h in ("Bib", "Lastname", "Firstname", "DateOfBirth", "Gender", "Contest", "Club", "License",
              "Transponder1", "RegNo", "Street", "ZIP", "City", "State", "Country", "Email", "Phone"):
        assert h in headers
    assert sum(h in headers for h in ("Age", "DateOfBirth", "YearOfBirth")) == 1
    by = {c.header: c for c in p.columns}
    assert by["State"].max_width == 3
    assert by["Gender"].map == {"M": "m", "F": "f"} and by["Gender"].reverse == {"m": "M", "f": "F"}
    assert by["Club"].source == "team_name" and by["License"].source == "team_bib"
    assert by["RegNo"].source == "registration_id"


def test_raceentry_carries_every_field():
    sources = {c.source for c in load_profile("raceentry").columns}
    assert set(CANONICAL_FIELDS) <= sources
    assert set(EXTRA_FIELDS) <= sources


def test_director_is_windows_1252():
    assert load_profile("director").encoding == "cp1252"


def test_unknown_profile_lists_names():
    with pytest.raises(ProfileError) as exc:
        load_profile("nope")
    assert str(exc.value) == ("unknown profile 'nope'; choose one of: director, racedayscoring, raceentry, "
                              "raceresult, runscore (or give the path of your own .toml)")


def _user_profile(tmp_path, body: str):
    path = tmp_path / "x.toml"
    path.write_text('name = "x"\ndescription = "mine"\ntarget = "Mine"\nkinds = ["csv"]\n' + body, encoding="utf-8")
    return path


COLS = ('[[columns]]\nheader = "ID"\nsource = "registration_id"\n'
        '[[columns]]\nheader = "First"\nsource = "first_name"\n'
        '[[columns]]\nheader = "Last"\nsource = "last_name"\n')


def test_user_profile_by_path(tmp_path):
    path = _user_profile(tmp_path, COLS + '[[columns]]\nheader = "Name"\nsource = "{first_name} {last_name}"\n')
    p = load_profile(str(path))
    assert p.headers == ["ID", "First", "Last", "Name"]
    assert p.columns[3].kind == "template"


def test_bad_field_names_file_and_key(tmp_path):
    path = _user_profile(tmp_path, COLS + '[[columns]]\nheader = "Name"\nsource = "nme"\n')
    with pytest.raises(ProfileError) as exc:
        load_profile(str(path))
    assert str(exc.value).startswith(f"{path}: columns[3].source: 'nme' is not a known field")


def test_schema_error_names_key_path(tmp_path):
    path = _user_profile(tmp_path, COLS + 'encoding = "latin-9"\n')
    # TOML puts encoding inside the last [[columns]] table: the key path says so.
    with pytest.raises(ProfileError) as exc:
        load_profile(str(path))
    assert str(exc.value).startswith(f"{path}: columns[2]: Additional properties are not allowed")
    path = _user_profile(tmp_path, 'encoding = "latin-9"\n' + COLS)
    with pytest.raises(ProfileError, match=r"x\.toml: encoding: 'latin-9' is not one of"):
        load_profile(str(path))


def test_profile_must_carry_registration_id(tmp_path):
    path = _user_profile(tmp_path, '[[columns]]\nheader = "First"\nsource = "first_name"\n')
    with pytest.raises(ProfileError, match="must carry the registration id"):
        load_profile(str(path))


def test_duplicate_headers_rejected(tmp_path):
    path = _user_profile(tmp_path, COLS + '[[columns]]\nheader = "first_"\nsource = "middle_name"\n')
    with pytest.raises(ProfileError, match=r"columns\[3\]\.header: 'first_' is the same header as columns\[1\]"):
        load_profile(str(path))


def test_missing_file(tmp_path):
    with pytest.raises(ProfileError, match="profile file not found"):
        load_profile(str(tmp_path / "none.toml"))


def test_bad_toml(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("name = \n", encoding="utf-8")
    with pytest.raises(ProfileError, match="not valid TOML"):
        load_profile(str(path))


def test_header_normalisation():
    assert normalise_header("Registration_ID") == normalise_header("registration id") == "registrationid"
    assert normalise_header("Date of Birth") == normalise_header("DATE-OF-BIRTH")
