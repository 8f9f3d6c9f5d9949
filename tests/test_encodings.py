"""Files as they really come back: character sets. UTF-8 (and its BOM), UTF-16 with or without a BOM and
real Windows-1252 are read; Shift-JIS, Greek Windows-1253 and other character sets that Windows-1252
would turn into plausible-looking garbage (``ŽR“c`` for ``山田``) are refused with the ``--encoding`` to
give, and read right with it (on the command line, or ``encoding = "..."`` in a drop folder's config)."""

from __future__ import annotations

import time

import orjson
import pytest
from click.testing import CliRunner

from converters.cli import main
from converters.plan.convert import read_file, write_file
from converters.errors import InputError
from converters.model.answers import parse_participants
from converters.files.charsets import decode
from converters.raceday.watch import Watcher
from converters.raceday.watch_config import ConfigError, load_config
from tests.conftest import drop_folder as conftest_drop_folder

HEADER = "Registration ID,Bib,First Name,Last Name,Sex,Date of Birth,Event ID\r\n"


def table(names, encoding: str) -> bytes:
    """A RunScore CSV of (first, last) names as ``encoding`` bytes (no BOM unless the codec writes one)."""
    rows = "".join(f"{i},{100 + i},{first},{last},M,01/02/1990,16\r\n" for i, (first, last) in enumerate(names, 1))
    return (HEADER + rows).encode(encoding)


JAPANESE = [("太郎", "山田"), ("花子", "鈴木"), ("一郎", "佐藤")]
GREEK = [("Γιώργος", "Παπαδόπουλος"), ("Μαρία", "Οικονόμου"), ("Νίκος", "Ζαχαρίου")]
LATIN = [("José", "Núñez"), ("Anna", "Ström"), ("Françoise", "Dvorák"), ("Ÿvette", "Zoë"), ("Seán", "O’Brien")]


def names_of(path, encoding=None):
    return [(p.first_name, p.last_name) for p in read_file(path, "runscore", encoding=encoding).participants]


# ------------------------------------------------------------------------------------------- Shift-JIS

def test_shift_jis_is_refused_with_the_hint(tmp_path):
    path = tmp_path / "runscore.csv"
    path.write_bytes(table(JAPANESE, "shift_jis"))
    with pytest.raises(InputError) as err:
        read_file(path, "runscore")
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(str(path)) and "runscore.csv: the character set is not clear" in message
    assert "Shift-JIS" in message
    assert message.endswith("give it with --encoding shift_jis (or re-save the file as UTF-8)")
    assert "ŽR" not in message


def test_shift_jis_with_the_encoding_is_read(tmp_path):
    path = tmp_path / "runscore.csv"
    path.write_bytes(table(JAPANESE, "shift_jis"))
    assert names_of(path, encoding="shift_jis") == JAPANESE
    assert names_of(path, encoding="cp932") == JAPANESE


def test_shift_jis_through_the_cli(tmp_path):
    path = tmp_path / "runscore.csv"
    path.write_bytes(table(JAPANESE, "shift_jis"))
    out = tmp_path / "out.json"
    refused = CliRunner().invoke(main, ["convert", str(path), str(out), "-p", "runscore"])
    assert refused.exit_code != 0 and not out.exists()
    assert "--encoding shift_jis" in refused.output and "Traceback" not in refused.output
    done = CliRunner().invoke(main, ["convert", str(path), str(out), "-p", "runscore", "--encoding", "shift_jis"])
    assert done.exit_code == 0, done.output
    text = out.read_text(encoding="utf-8")
    assert "山田" in text and "鈴木" in text and "ŽR" not in text


# --------------------------------------------------------------------------------------------- UTF-16

@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_bom(tmp_path, codec):
    path = tmp_path / "runscore.csv"
    data = table(JAPANESE + LATIN, codec)
    assert not data.startswith((b"\xff\xfe", b"\xfe\xff"))
    path.write_bytes(data)
    assert names_of(path) == JAPANESE + LATIN
    people = read_file(path, "runscore").participants
    assert people[0].dob == "1990-01-02" and people[0].registration_id == "1"  # not '\x000\x001...'


@pytest.mark.parametrize("codec", ["utf-16", "utf-8-sig"])
def test_with_a_bom(tmp_path, codec):
    path = tmp_path / "runscore.csv"
    path.write_bytes(table(JAPANESE + LATIN, codec))
    assert names_of(path) == JAPANESE + LATIN


def test_utf16_tab_delimited_txt_as_excel_saves_unicode_text(tmp_path):
    path = tmp_path / "runscore.txt"
    path.write_bytes(table(LATIN, "utf-16-le").replace(",".encode("utf-16-le"), "\t".encode("utf-16-le")))
    assert names_of(path) == LATIN


# ------------------------------------------------------------------------------------------ Windows-1252

def test_windows_1252_names_read_without_complaint(tmp_path):
    path = tmp_path / "runscore.csv"
    path.write_bytes(table(LATIN + [("Þórður", "Ærø"), ("Zoë", "Smith–Jones")], "cp1252"))
    assert names_of(path) == LATIN + [("Þórður", "Ærø"), ("Zoë", "Smith–Jones")]
    assert decode(path.read_bytes(), "runscore.csv")[1] == "cp1252"


def test_windows_1252_fixture_still_reads():
    from pathlib import Path

    data = (Path(__file__).parent / "fixtures" / "runscore_excel_cp1252.csv").read_bytes()
    text, codec = decode(data, "runscore_excel_cp1252.csv")
    assert codec == "cp1252" and "Muñoz;José" in text and "Zoë" in text


def test_utf8_is_read_first_and_never_detected(monkeypatch):
    """A 50,000-row UTF-8 file decodes strictly as UTF-8: the detector never runs."""
    import charset_normalizer

    def boom(*args, **kwargs):
        raise AssertionError("the detector ran on UTF-8")

    monkeypatch.setattr(charset_normalizer, "from_bytes", boom)
    data = table([("José", "Núñez"), ("太郎", "山田")] * 25_000, "utf-8")
    started = time.perf_counter()
    text, codec = decode(data, "big.csv")
    assert codec == "utf-8" and text.count("\n") == 50_001
    assert time.perf_counter() - started < 2


# -------------------------------------------------------------------------------------- other charsets

def test_greek_windows_1253_only_with_the_hint(tmp_path):
    path = tmp_path / "runscore.csv"
    path.write_bytes(table(GREEK, "cp1253"))
    with pytest.raises(InputError) as err:
        read_file(path, "runscore")
    message = str(err.value)
    assert "the character set is not clear" in message and "--encoding cp1253" in message
    assert names_of(path, encoding="cp1253") == GREEK


@pytest.mark.parametrize("codec,names", [
    ("cp1250", [("Łukasz", "Wiśniewski"), ("Małgorzata", "Kowalczyk")]),
    ("cp1251", [("Иван", "Петров"), ("Ольга", "Смирнова")]),
    ("gb18030", [("伟", "王"), ("芳", "李")]),
])
def test_other_character_sets_are_refused_not_guessed(tmp_path, codec, names):
    path = tmp_path / "runscore.csv"
    path.write_bytes(table(names, codec))
    with pytest.raises(InputError, match=r"the character set is not clear .*--encoding"):
        read_file(path, "runscore")
    assert names_of(path, encoding=codec) == names


def test_unknown_encoding_option(tmp_path):
    path = tmp_path / "runscore.csv"
    path.write_bytes(table(LATIN, "utf-8"))
    with pytest.raises(InputError, match="unknown encoding 'nonsense'"):
        read_file(path, "runscore", encoding="nonsense")


# ------------------------------------------------------------------------------------- the drop folder

def drop_folder(tmp_path, server, extra=""):
    return conftest_drop_folder(tmp_path, server, f"settle_seconds = 0.2\n{extra}")


def test_watch_config_encoding_nonsense_is_refused(server, tmp_path):
    folder = drop_folder(tmp_path, server, extra='encoding = "nonsense"\n')
    with pytest.raises(ConfigError) as err:
        load_config(folder)
    assert "encoding 'nonsense' is not a character set" in str(err.value)
    assert str(folder / "timersync.toml") in str(err.value)
    folder2 = drop_folder(tmp_path / "b", server, extra="encoding = 1253\n")
    with pytest.raises(ConfigError, match="encoding must be the name of a character set"):
        load_config(folder2)


def greek_edit(client, server, folder):
    """The synced file with one participant renamed in Greek, saved as Windows-1253 (as Greek Excel does);
    participants whose names Windows-1253 cannot hold are left out of the file (not deleted: no --delete)."""
    race = client.race(server.race_id)
    people = parse_participants(client.participants(server.race_id, 0))

    def fits(p):
        try:
            repr(p).encode("cp1253")  # every field the file could carry
            return True
        except UnicodeEncodeError:
            return False

    kept = [p for p in people if fits(p)]
    target = kept[0]
    edited = [p.copy(first_name="Γιώργος") if p.registration_id == target.registration_id else p for p in kept]
    utf8 = folder / "utf8.csv"
    write_file(utf8, edited, "runscore", race=race)
    data = utf8.read_bytes().decode("utf-8-sig").encode("cp1253")
    utf8.unlink()
    (folder / "in" / "runscore.csv").write_bytes(data)
    return target


def test_watcher_uses_the_configured_encoding(client, server, tmp_path):
    # The dropped file is made here, not by timersync: of unknown origin, its edit goes with two_way.
    folder = drop_folder(tmp_path, server, extra='encoding = "cp1253"\ntwo_way = true\n')
    config = load_config(folder)
    assert config.encoding == "cp1253"
    target = greek_edit(client, server, folder)
    summary = Watcher(config, client=client).run_once()
    assert summary.count("done") == 1, summary.outcomes
    plan = folder / "out" / "runscore.plan"
    assert orjson.loads((plan / "summary.json").read_bytes())["counts"]["modifies"] == 1
    sent = (plan / "participants.json").read_text(encoding="utf-8")
    assert "Γιώργος" in sent and str(target.registration_id) in sent


def test_watcher_without_the_encoding_refuses_greek(client, server, tmp_path):
    folder = drop_folder(tmp_path, server)
    assert load_config(folder).encoding is None
    greek_edit(client, server, folder)
    summary = Watcher(load_config(folder), client=client).run_once()
    assert summary.count("failed") == 1
    error = (folder / "failed" / "runscore.csv.error.txt").read_text(encoding="utf-8")
    # One Greek name among Latin ones: refused (the detector may not tell Greek on so little).
    assert "the character set is not clear" in error and "give it with --encoding" in error
