"""A spreadsheet's default open-and-save, for real: every profile's CSV (and TXT) with hard values (leading
zeros, 1E5, True, 3/4, dates around 1900 and 2000, Cyrillic, CJK, formula-looking names) re-saved by
LibreOffice with its default import, then diffed against the file's base: nothing to push, only what the
run reports as recognised. Skips cleanly without LibreOffice; CI installs it."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from converters.plan import binding, planning
from converters.plan.convert import write_file
from converters.model.answers import participants_response
from converters.model import Participant

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
pytestmark = pytest.mark.skipif(not SOFFICE, reason="LibreOffice (soffice) is not installed")

RACE = {"race_id": 2026, "name": "Hard Names Run", "events": [{"event_id": 16, "name": "Marathon"},
                                                                {"event_id": 67, "name": "Half Marathon"}]}
HARD = [("0042", "Lee", "1900-01-01"), ("1E5", "Park", "1927-02-28"), ("True", "False", "2000-02-29"),
        ("3/4", "Quarter", "2005-12-31"), ("Дмитрий", "Иванов", "1971-05-31"), ("花子", "山田", "1968-07-04"),
        ("=SUM(A1)", "Formula", "1999-12-31"), ("Zoë", "-Dash", "1985-03-01"), ("Ann", "O'Brien, Jr.", "1990-05-05")]


def people():
    return [Participant(registration_id=str(1000 + i), event_id=16 if i % 2 else 67, first_name=f, last_name=l,
                        dob=d, gender="F" if i % 2 else "M", zipcode="02134", city="Boston", state="MA",
                        country_code="USA", bib=f"{i:03d}", email=f"r{i}@example.com", phone="8015550100")
            for i, (f, l, d) in enumerate(HARD)]


@pytest.mark.parametrize("profile", ["runscore", "raceresult", "racedayscoring", "director", "raceentry"])
@pytest.mark.parametrize("kind", ["csv", "txt"])
def test_default_import_round_trip_is_not_an_edit(profile, kind, tmp_path):
    ps = people()
    out = tmp_path / f"{profile}.{kind}"
    write_file(out, ps, profile, race=RACE)
    binding.bind(out, server=None, race_id=2026, profile=profile, base=participants_response(ps, [16, 67]),
                 race=RACE)
    resaved_dir = tmp_path / "resaved"
    # Default import: only the separator is given for .txt (LibreOffice would open it as a text document).
    spec = ["--infilter=Text - txt - csv (StarCalc):9,34,76"] if kind == "txt" else []
    sep = 44 if kind == "csv" else 9
    subprocess.run([SOFFICE, "--headless", f"-env:UserInstallation=file://{tmp_path}/lo", *spec, "--convert-to",
                    f"csv:Text - txt - csv (StarCalc):{sep},34,76", "--outdir", str(resaved_dir), str(out)],
                   check=True, capture_output=True, timeout=180)
    resaved = resaved_dir / f"{out.stem}.csv"
    assert resaved.is_file()
    shutil.copy(resaved, out)  # the timer's file, as the spreadsheet saved it; its binding stays
    planned = planning.make(out, offline=True)
    plan = planned.plan
    assert plan.is_empty() and not plan.invalid and not plan.unpushable, (profile, kind, plan.summary()["modifies"])
