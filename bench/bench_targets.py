"""Every performance target of the race-day issue, each beside its floor measured in the same run.

    .venv/bin/python bench/bench_targets.py [N]        (N runners, default 50,000)

Prints the machine, then one table (80 columns): target, our figure, the floor, ours / floor, the limit,
ok/MISSED. Not a test: it prints figures. Timed steps run 3 times and the best is reported; the memory
figures are of one run each.

Targets (N = 50,000):
  1. JSON -> CSV, whole `convert` process   <= 1.5x a minimal msgspec + csv script (child process)
  2. JSON -> XLSX, whole `convert` process  <= 2x a minimal msgspec + zipfile XLSX writer (child process)
  3. XLSX -> JSON, whole `convert` process  < 1.5 s   (floor shown: python-calamine reading the sheet)
  4. diff of the file end to end            < 2 s     (as bench_diff: planning.make from the file name)
  5. peak RSS of `pull` and the first `sync` < 300 MB each  (floor: `timersync --version`)
  6. a no-change sync round                 < 100 ms  (as bench_sync: Syncer.run() in process)

How it runs. This process (the conductor) stays small and does nothing heavy itself: Linux carries a
parent's peak RSS into a child across (v)fork + exec, so a child's wait4 peak is never below the
parent's. So the data, the diff setup, calamine and the in-process sync round all run in child processes
of this same script (``--part NAME``, which print their figures as JSON), and every command runs as its
own child, against the bundled server in another child.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RUNS = 3
EMAIL, PASSWORD = "timer@example.com", "rehearse-2026"  # the bundled server's account (as bench_memory)

# ----------------------------------------------------------------------------------- the floor scripts

# Decoding shared by both floors: msgspec typed Structs declaring only the fields the raceresult profile
# writes (mappings/raceresult.toml: 17 columns), straight from the file's bytes.
FLOOR_DECODE = r'''
import sys
import msgspec


class Address(msgspec.Struct):
    street: str | None = None
    city: str | None = None
    state: str | None = None
    zipcode: str | None = None
    country_code: str | None = None


class User(msgspec.Struct):
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    dob: str | None = None
    gender: str | None = None
    phone: str | None = None
    address: Address | None = None


class P(msgspec.Struct):
    registration_id: int
    event_id: int | None = None
    bib_num: int | str | None = None
    chip_num: int | str | None = None
    team_name: str | None = None
    team_bib_num: int | str | None = None
    user: User | None = None


class Group(msgspec.Struct):
    participants: list[P] = []


class Event(msgspec.Struct):
    event_id: int


class Race(msgspec.Struct):
    events: list[Event] = []


class RaceFile(msgspec.Struct):
    race: Race


src, race_file, out = sys.argv[1:4]
with open(src, "rb") as fh:
    groups = msgspec.json.decode(fh.read(), type=list[Group])
with open(race_file, "rb") as fh:
    contest = {e.event_id: i for i, e in enumerate(msgspec.json.decode(fh.read(), type=RaceFile).race.events, 1)}
HEADER = ["RegNo", "Bib", "Lastname", "Firstname", "DateOfBirth", "Gender", "Contest", "Club", "License",
          "Transponder1", "Street", "ZIP", "City", "State", "Country", "Email", "Phone"]
GENDER = {"M": "m", "F": "f"}
NO_USER, NO_ADDRESS = User(), Address()


def code(v):
    return "" if v is None else str(v)


def zip5(z):
    return z.zfill(5) if z and len(z) < 5 and z.isdigit() else (z or "")
'''

FLOOR_CSV = FLOOR_DECODE + r'''
import csv
import re

TRIG = frozenset("=+-@\t\r'")
TRIG_ONLY = ("=", "+", "-", "@", "\t", "\r")
PHONE = re.compile(r"\+?[0-9][0-9 ().\-/]*(\s*(x|ext\.?)\s*[0-9]+)?\Z", re.IGNORECASE)


def g(v):  # a text cell a spreadsheet would run as a formula gets a leading ' (as the profile asks)
    if not v:
        return ""
    return "'" + v if v[0] in TRIG and v.lstrip("'")[:1] in TRIG_ONLY else v


def phone(v):
    return g(v) if v and v[0] in TRIG and not PHONE.match(v) else (v or "")


def rows():
    for grp in groups:
        for p in grp.participants:
            u = p.user or NO_USER
            a = u.address or NO_ADDRESS
            d = u.dob
            yield (p.registration_id, code(p.bib_num), g(u.last_name), g(u.first_name),
                   f"{d[8:10]}.{d[5:7]}.{d[:4]}" if d else "", GENDER.get(u.gender, u.gender or ""),
                   contest.get(p.event_id, ""), g(p.team_name), code(p.team_bib_num), code(p.chip_num),
                   g(a.street), zip5(a.zipcode), g(a.city), g(a.state), g(a.country_code), g(u.email), phone(u.phone))


with open(out, "w", encoding="utf-8-sig", newline="") as fh:
    w = csv.writer(fh, lineterminator="\r\n")
    w.writerow(HEADER)
    w.writerows(rows())
'''

FLOOR_XLSX = FLOOR_DECODE + r'''
import zipfile
from datetime import date

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"
HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
PARTS = {
    "[Content_Types].xml": HEAD + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    f'<Override PartName="/xl/workbook.xml" ContentType="{CT}.sheet.main+xml"/>'
    f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{CT}.worksheet+xml"/>'
    f'<Override PartName="/xl/styles.xml" ContentType="{CT}.styles+xml"/></Types>',
    "_rels/.rels": HEAD + f'<Relationships xmlns="{PKG}"><Relationship Id="rId1" '
    f'Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
    "xl/workbook.xml": HEAD + f'<workbook xmlns="{NS}" xmlns:r="{REL}"><sheets>'
    '<sheet name="Participants" sheetId="1" r:id="rId1"/></sheets></workbook>',
    "xl/_rels/workbook.xml.rels": HEAD + f'<Relationships xmlns="{PKG}">'
    f'<Relationship Id="rId1" Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{REL}/styles" Target="styles.xml"/></Relationships>',
    # One extra part beyond the bare minimum: a date style, so DateOfBirth is a real date cell as ours.
    "xl/styles.xml": HEAD + f'<styleSheet xmlns="{NS}"><numFmts count="1"><numFmt numFmtId="164" '
    'formatCode="dd.mm.yyyy"/></numFmts><fonts count="1"><font><sz val="11"/><name val="Calibri"/></font>'
    '</fonts><fills count="1"><fill><patternFill patternType="none"/></fill></fills><borders count="1">'
    '<border><left/><right/><top/><bottom/><diagonal/></border></borders><cellStyleXfs count="1">'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs><cellXfs count="2">'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>',
}
COLS = [chr(65 + j) for j in range(len(HEADER))]
EPOCH = date(1899, 12, 30).toordinal()


def esc(v):
    if "&" in v or "<" in v or ">" in v:
        v = v.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return v


def s(col, r, v):
    return f'<c r="{col}{r}" t="inlineStr"><is><t>{esc(v)}</t></is></c>' if v else ""


def n(col, r, v):
    return "" if v is None or v == "" else f'<c r="{col}{r}"><v>{v}</v></c>'


def d(col, r, v):
    if not v:
        return ""
    return f'<c r="{col}{r}" s="1"><v>{date(int(v[:4]), int(v[5:7]), int(v[8:10])).toordinal() - EPOCH}</v></c>'


A, B, C, D, E, F, G, H, I, J, K, L, M, N_, O, P_, Q = COLS


def sheet():
    yield (HEAD + f'<worksheet xmlns="{NS}"><sheetData><row r="1">'
           + "".join(s(c, 1, h) for c, h in zip(COLS, HEADER)) + "</row>")
    r = 1
    chunk = []
    for grp in groups:
        for p in grp.participants:
            r += 1
            u = p.user or NO_USER
            a = u.address or NO_ADDRESS
            chunk.append(f'<row r="{r}">' + n(A, r, p.registration_id) + s(B, r, code(p.bib_num))
                         + s(C, r, u.last_name) + s(D, r, u.first_name) + d(E, r, u.dob)
                         + s(F, r, GENDER.get(u.gender, u.gender)) + n(G, r, contest.get(p.event_id))
                         + s(H, r, p.team_name) + s(I, r, code(p.team_bib_num)) + s(J, r, code(p.chip_num))
                         + s(K, r, a.street) + s(L, r, zip5(a.zipcode)) + s(M, r, a.city) + s(N_, r, a.state)
                         + s(O, r, a.country_code) + s(P_, r, u.email) + s(Q, r, u.phone) + "</row>")
            if len(chunk) == 2000:
                yield "".join(chunk)
                chunk = []
    yield "".join(chunk) + "</sheetData></worksheet>"


with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:  # ours uses level 1 too
    for name, text in PARTS.items():
        zf.writestr(name, text)
    with zf.open("xl/worksheets/sheet1.xml", "w") as fh:
        for piece in sheet():
            fh.write(piece.encode("utf-8"))
'''


# --------------------------------------------------------------------------------------- child processes

@dataclass
class Run:
    secs: float
    peak_mb: float
    code: int
    err: str = ""  # the last line of stderr when it failed
    out: str = ""

    @property
    def ok(self) -> bool:
        return self.code == 0


def run(argv: list[str], env: dict[str, str], tmp: Path) -> Run:
    """One child process: wall seconds, its own peak RSS (wait4), exit code, and its stdout; stdout and
    stderr go to files (a pipe read only after wait4 could fill up and stall a chatty child)."""
    with tempfile.TemporaryFile(dir=tmp) as out, tempfile.TemporaryFile(dir=tmp) as err:
        t = time.perf_counter()
        try:
            proc = subprocess.Popen(argv, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        except OSError as exc:
            return Run(0.0, 0.0, -1, str(exc))
        _, status, usage = os.wait4(proc.pid, 0)
        secs = time.perf_counter() - t
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here; keep Popen from waiting again
        out.seek(0)
        err.seek(0)
        text = out.read().decode("utf-8", "replace")
        lines = [ln for ln in err.read().decode("utf-8", "replace").splitlines() if ln.strip()]
    code = proc.returncode
    return Run(secs, usage.ru_maxrss / 1024, code, (lines[-1].strip() if lines else f"exit {code}") if code else "",
               text)


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "converters", *args]


def part(*args: str) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "--part", *args]


def best_of(argvs: dict[str, list[str]], env: dict[str, str], tmp: Path, runs: int = RUNS) -> dict[str, Run]:
    """Each command ``runs`` times, interleaved (a-b-a-b: drift hits both alike); the fastest run of each,
    or the first failure."""
    best: dict[str, Run] = {}
    for _ in range(runs):
        for key, argv in argvs.items():
            if key in best and not best[key].ok:
                continue
            r = run(argv, env, tmp)
            if not r.ok or key not in best or r.secs < best[key].secs:
                best[key] = r
    return best


def part_json(argv: list[str], env: dict[str, str], tmp: Path) -> tuple[dict | None, str]:
    r = run(argv, env, tmp)
    if not r.ok:
        return None, r.err
    try:
        return json.loads(r.out.strip().splitlines()[-1]), ""
    except (ValueError, IndexError):
        return None, "no figures from the child: " + (r.out.strip()[-100:] or "(empty)")


# ----------------------------------------------------------------------------------------------- the table

@dataclass
class Row:
    name: str
    ours: str = "-"
    floor: str = "-"
    ratio: str = "-"
    limit: str = "-"
    verdict: str = "-"  # ok / MISSED / "" for a row that only informs
    notes: list[str] = field(default_factory=list)


def secs(x: float | None) -> str:
    return "-" if x is None else (f"{x * 1000:.0f} ms" if x < 0.1 else f"{x:.2f} s")


def mb(x: float | None) -> str:
    return "-" if x is None else f"{x:.0f} MB"


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.1f}x" if a is not None and b else "-"


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def failed(name: str, what: str, err: str, rows: list[Row], limit: str = "-") -> None:
    rows.append(Row(name, "failed", limit=limit, verdict="MISSED", notes=[f"{what} failed: {err[:150]}"]))


def print_table(rows: list[Row]) -> None:
    fmt = "{:<29} {:>9} {:>9} {:>6} {:>15} {:>7}"
    print(fmt.format("target", "ours", "floor", "ratio", "limit", "result"))
    print("-" * 80)
    for r in rows:
        print(fmt.format(r.name[:29], r.ours, r.floor, r.ratio, r.limit, r.verdict))
    notes = [(r.name, n) for r in rows for n in r.notes]
    if notes:
        print()
        for name, n in notes:
            print(textwrap.fill(f"* {name.strip()}: {n}", 80, subsequent_indent="  ", break_on_hyphens=False))


def progress(msg: str) -> None:
    print(f"... {msg}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------- the conductor

def same_bytes(a: Path, b: Path) -> str:
    """Streamed (the conductor stays small): identical, or how many lines differ (and the first one)."""
    def digest(p: Path) -> str:
        h = hashlib.sha256()
        with open(p, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        return h.hexdigest()

    if digest(a) == digest(b):
        return "byte for byte the same as ours"
    diff, first = 0, None
    with open(a, "rb") as fa, open(b, "rb") as fb:
        for i, (x, y) in enumerate(zip(fa, fb), 1):
            if x != y:
                diff += 1
                first = first or i
    return f"differs from ours on {diff} lines (first: line {first})"


def machine() -> None:
    cpus = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cpus
    model = mem = ""
    try:
        with open("/proc/cpuinfo") as fh:
            model = next(ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name"))
        with open("/proc/meminfo") as fh:
            kb = next(int(ln.split()[1]) for ln in fh if ln.startswith("MemTotal"))
        mem = f", {kb / 1024 / 1024:.1f} GB RAM"
    except (OSError, StopIteration, ValueError):
        pass
    print(f"python {platform.python_version()} ({platform.python_implementation()}), {platform.system()} "
          f"{platform.machine()}")
    print(f"cpus: {cpus} (usable: {usable}){mem}{', ' + model if model else ''}")


def main(n: int) -> None:
    machine()
    print(f"N = {n:,}; times: best of {RUNS} runs, interleaved with the floor's; memory: 1 run")
    print()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench-targets-") as name:
        tmp = Path(name)
        env = dict(os.environ, TIMERSYNC_HOME=str(tmp / "state"), PYTHONPATH=str(ROOT))
        env.pop("TIMERSYNC_API_URL", None)
        progress(f"building the {n:,}-runner participants answer (bench_convert.make_data)")
        made, err = part_json(part("data", str(tmp), str(n)), env, tmp)
        if made is None:
            print(f"cannot build the data: {err}")
            sys.exit(1)
        src, race = tmp / "p.json", tmp / "race.json"
        print(f"participants answer: {made['count']:,} runners in {made['groups']} events, "
              f"{src.stat().st_size / 1e6:.0f} MB (bench_convert.make_data)")
        (tmp / "floor_csv.py").write_text(FLOOR_CSV)
        (tmp / "floor_xlsx.py").write_text(FLOOR_XLSX)

        convert_targets(rows, tmp, env, src, race)
        progress("diff: file + binding, planning.make (bench_diff), then `diff --offline FILE`")
        diff_target(rows, tmp, env, n)
        server_targets(rows, tmp, env, n)
    print()
    print_table(rows)


def convert_targets(rows: list[Row], tmp: Path, env: dict[str, str], src: Path, race: Path) -> None:
    py = sys.executable
    for kind, factor, floor_script in (("csv", 1.5, "floor_csv.py"), ("xlsx", 2.0, "floor_xlsx.py")):
        name = "1. JSON -> CSV, process" if kind == "csv" else "2. JSON -> XLSX, process"
        ours_out, floor_out = tmp / f"o.{kind}", tmp / f"floor.{kind}"
        progress(f"{name.split(' ', 1)[1]}: `convert` vs the floor, {RUNS} runs each")
        got = best_of({"ours": cli("convert", str(src), str(ours_out), "-p", "raceresult", "--race", str(race)),
                       "floor": [py, str(tmp / floor_script), str(src), str(race), str(floor_out)]}, env, tmp)
        ours, floor = got["ours"], got["floor"]
        if not ours.ok:
            failed(name, "convert", ours.err, rows, f"{factor:g}x floor")
            continue
        if not floor.ok:
            rows.append(Row(name, secs(ours.secs), "failed", limit=f"{factor:g}x floor", verdict="MISSED",
                            notes=[f"the floor failed: {floor.err[:150]}"]))
            continue
        row = Row(name, secs(ours.secs), secs(floor.secs), ratio(ours.secs, floor.secs),
                  f"{factor:g}x = {secs(factor * floor.secs)}", verdict(ours.secs <= factor * floor.secs))
        if kind == "csv":
            row.notes.append(f"the floor's CSV is {same_bytes(floor_out, ours_out)}")
        else:
            check, err = part_json(part("check-xlsx", str(floor_out), str(ours_out)), env, tmp)
            row.notes.append(f"openpyxl opens the floor's XLSX: {check['rows']} rows x {check['cols']} columns; "
                             f"{check['cells_differing']} cells differ from ours" if check
                             else f"openpyxl could not check the floor's XLSX: {err[:120]}")
        rows.append(row)
        rows.append(Row("   peak RSS", mb(ours.peak_mb), mb(floor.peak_mb), ratio(ours.peak_mb, floor.peak_mb), "", ""))

    name = "3. XLSX -> JSON, process"
    xlsx = tmp / "o.xlsx"
    if not xlsx.exists():
        failed(name, "the input", "no o.xlsx (target 2 failed)", rows, "< 1.50 s")
        return
    progress(f"XLSX -> JSON: `convert`, {RUNS} runs; python-calamine alone in a child")
    ours = best_of({"ours": cli("convert", str(xlsx), str(tmp / "back.json"), "-p", "raceresult",
                                "--race", str(race))}, env, tmp)["ours"]
    cal, err = part_json(part("calamine", str(xlsx)), env, tmp)
    if not ours.ok:
        failed(name, "convert", ours.err, rows, "< 1.50 s")
        return
    floor = cal["best"] if cal else None
    row = Row(name, secs(ours.secs), secs(floor), ratio(ours.secs, floor), "< 1.50 s", verdict(ours.secs < 1.5))
    row.notes.append(f"floor: python-calamine reading the sheet to lists in process ({cal['rows']} rows), best of "
                     f"{RUNS}; the limit is absolute" if cal else f"the calamine floor failed: {err[:120]}")
    rows.append(row)
    rows.append(Row("   peak RSS", mb(ours.peak_mb), "", "", "", ""))


def diff_target(rows: list[Row], tmp: Path, env: dict[str, str], n: int) -> None:
    name = "4. diff FILE, end to end"
    got, err = part_json(part("diff", str(tmp / "diff"), str(n)), env, tmp)
    if got is None:
        failed(name, "the diff setup/run", err, rows, "< 2.00 s")
        return
    best = got["best"]
    rows.append(Row(name, secs(best), "-", "-", "< 2.00 s", verdict(best < 2.0),
                    notes=[(f"as bench_diff: planning.make(xlsx, offline=True, prefetched=prefetch(xlsx)), "
                            f"best of {RUNS} ({', '.join(f'{x:.2f}' for x in got['runs'])} s); "
                            f"{got['rows']} rows, plan {got['counts']}. Floor '-': bench_diff exposes no "
                            "function for the comparison alone")]))
    cli_run = best_of({"ours": cli("diff", "--offline", got["file"])}, env, tmp)["ours"]
    if cli_run.ok or cli_run.code == 5:
        rows.append(Row("   `diff --offline`, process", secs(cli_run.secs), "", "", "(info)", ""))
        rows[-2].notes.append(f"the whole `timersync diff --offline FILE` process: best of {RUNS}, "
                              f"peak {mb(cli_run.peak_mb)}")
    else:
        rows.append(Row("   `diff --offline`, process", "failed", "", "", "(info)", "",
                        notes=[f"`diff --offline FILE` failed: {cli_run.err[:150]}"]))


def server_targets(rows: list[Row], tmp: Path, env: dict[str, str], n: int) -> None:
    """5 and 6, as bench_memory: the bundled server in a child, `login`, then each command as a child."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/rest"
    progress(f"starting the bundled server with {n:,} runners")
    serve = subprocess.Popen(cli("serve", "--port", str(port), "--participants", str(n), "--seed", "7"), env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True)
    try:
        line = serve.stdout.readline() if serve.stdout else ""
        if "RaceEntry-compatible server" not in line:
            for label in ("5. peak RSS, pull", "5. peak RSS, first sync", "6. no-change sync round"):
                failed(label, "the bundled server", line.strip() or f"exit {serve.poll()}", rows)
            return
        login = run(cli("login", "--api-url", url, "--email", EMAIL, "--password", PASSWORD), env, tmp)
        if not login.ok:
            for label in ("5. peak RSS, pull", "5. peak RSS, first sync", "6. no-change sync round"):
                failed(label, "login", login.err, rows)
            return
        progress("peak RSS: --version, pull, first sync (one run each)")
        version = run(cli("--version"), env, tmp)
        floor = version.peak_mb if version.ok else None
        pulled, synced = tmp / "runscore.csv", tmp / "sync.xlsx"
        for label, args in (("5. peak RSS, pull", ["pull", "2026", "-p", "runscore", "-o", str(pulled)]),
                            ("5. peak RSS, first sync", ["sync", "2026", "-p", "raceresult", "-o", str(synced)])):
            r = run(cli(*args), env, tmp)
            if not r.ok:
                failed(label, " ".join(args[:2]), r.err, rows, "< 300 MB")
                continue
            rows.append(Row(label, mb(r.peak_mb), mb(floor), ratio(r.peak_mb, floor), "< 300 MB",
                            verdict(r.peak_mb < 300),
                            notes=[f"`{' '.join(args[:4])} ...`: {r.secs:.2f} s wall, one run; floor: "
                                   + ("`timersync --version` (python + timersync imported)" if floor
                                      else f"`--version` failed: {version.err[:80]}")]))

        name = "6. no-change sync round"
        if not synced.exists():
            failed(name, "the first sync", "no synced file", rows, "< 100 ms")
            return
        progress("no-change sync: `sync FILE` as a process, then Syncer.run() in process")
        whole = run(cli("sync", str(synced)), env, tmp)
        got, err = part_json(part("sync", url, "2026", str(synced)), env, tmp)
        if got is None:
            failed(name, "the in-process round", err, rows, "< 100 ms")
        else:
            ok = got["best"] < 0.1 and got["unchanged"] and not got["full"]
            row = Row(name, secs(got["best"]), "-", "-", "< 100 ms", verdict(ok),
                      notes=[("as bench_sync: Syncer.run() in process against the server (another process), "
                              f"best of {RUNS} rounds after a first one "
                              f"({', '.join(f'{x * 1000:.0f}' for x in got['runs'])} ms; CPU of this process: "
                              f"{got['cpu'] * 1000:.0f} ms, the rest is waiting on the server); file untouched: {got['unchanged']}; [{got['status']}]")])
            rows.append(row)
        if whole.ok:
            rows.append(Row("   `sync FILE`, process", secs(whole.secs), "", "", "(info)", "",
                            notes=[("a whole `timersync sync FILE` process with nothing changed, one run, "
                                    f"peak {mb(whole.peak_mb)}")]))
        else:
            rows.append(Row("   `sync FILE`, process", "failed", "", "", "(info)", "",
                            notes=[f"`sync FILE` failed: {whole.err[:150]}"]))
    finally:
        serve.terminate()
        try:
            serve.wait(timeout=30)
        except subprocess.TimeoutExpired:
            serve.kill()
            serve.wait()


# ----------------------------------------------------------------------------- the parts (child processes)

def part_data(folder: str, n: str) -> dict:
    """The participants answer and the race context, as bench_convert builds and writes them."""
    sys.path.insert(0, str(HERE))
    from bench_convert import make_data

    from converters import jsonio

    response, race = make_data(int(n))
    jsonio.save_file(Path(folder) / "p.json", response)
    jsonio.save_file(Path(folder) / "race.json", race)
    return {"count": sum(len(g["participants"]) for g in response), "groups": len(response)}


def part_check_xlsx(floor: str, ours: str) -> dict:
    """The floor's XLSX through openpyxl, cell by cell against ours (also read by openpyxl)."""
    from itertools import zip_longest

    import openpyxl

    a = openpyxl.load_workbook(floor, read_only=True).worksheets[0].iter_rows(values_only=True)
    b = openpyxl.load_workbook(ours, read_only=True).worksheets[0].iter_rows(values_only=True)
    count = cols = differ = 0
    for x, y in zip_longest(a, b, fillvalue=()):  # a row or trailing cell one lacks reads as empty (None)
        count += 1 if x else 0
        cols = max(cols, len(x))
        differ += sum(1 for u, v in zip_longest(x, y) if u != v)
    return {"rows": count, "cols": cols, "cells_differing": differ}


def part_calamine(xlsx: str) -> dict:
    from python_calamine import CalamineWorkbook

    times, got = [], []
    for _ in range(RUNS):
        t = time.perf_counter()
        got = CalamineWorkbook.from_path(xlsx).get_sheet_by_index(0).to_python()
        times.append(time.perf_counter() - t)
    return {"best": min(times), "runs": times, "rows": len(got)}


def part_diff(folder: str, n: str, profile: str = "runscore") -> dict:
    """bench_diff's setup (it exposes no function): the race, 1% of rows edited, written as XLSX and bound
    to its base; then its "end to end" measure, planning.make from the file name, best of RUNS."""
    import random

    sys.path.insert(0, str(ROOT))
    from converters.plan import binding, planning
    from converters.plan.convert import prefetch, write_file
    from converters.model.answers import parse_participants, parse_teams, participants_response
    from converters.rehearsal.seed import generate_race

    data = generate_race(int(n), seed=7)
    race = next(r for r in data["races"] if r["race_id"] == data["main_race_id"])
    events = [e["event_id"] for e in race["events"]]
    removed = set(data["removed_registration_ids"])
    current = parse_participants([p for p in data["participants"] if p["event_id"] in events
                                  and p["registration_id"] not in removed])
    teams = parse_teams([t["team"] for t in data["teams"] if t["race_id"] == race["race_id"]])
    rng = random.Random(1)
    edited = [p.copy() for p in current]
    for i in rng.sample(range(len(edited)), len(edited) // 100):
        edited[i].city = "Bench City"
        edited[i].email = f"bench{i}@example.com"
    Path(folder).mkdir(parents=True, exist_ok=True)
    xlsx = Path(folder) / "race.xlsx"
    write_file(xlsx, edited, profile, race=race, teams=teams)
    binding.bind(xlsx, server="http://127.0.0.1:1/rest", race_id=race["race_id"], profile=profile,
                 base=participants_response(current, events), race=race, teams=None, team_types=None)
    rows = len(current)
    del data, current, edited
    times, planned = [], None
    for _ in range(RUNS):
        t = time.perf_counter()
        planned = planning.make(xlsx, offline=True, prefetched=prefetch(xlsx))
        times.append(time.perf_counter() - t)
    counts = planned.plan.counts()
    return {"best": min(times), "runs": times, "rows": rows, "file": str(xlsx),
            "counts": {k: v for k, v in counts.items() if v} or counts}


def part_sync(url: str, race_id: str, file: str) -> dict:
    """bench_sync's no-change round: a Syncer in this process, one round to settle (the roster loaded,
    the file checked), then RUNS rounds timed; the file must stay untouched."""
    sys.path.insert(0, str(ROOT))
    from converters.client import RaceEntryClient
    from converters.raceday.sync import Syncer
    from converters.raceday.sync_outputs import SyncOutput

    client = RaceEntryClient(url)
    client.login(EMAIL, PASSWORD)
    path = Path(file)
    syncer = Syncer(client, int(race_id), [SyncOutput("raceresult", path)])
    try:
        first = syncer.run()
        if first.error:
            raise SystemExit(f"first round: {first.error}")
        before = path.stat()
        times, cpu, r = [], [], first
        for _ in range(RUNS):
            t, c = time.perf_counter(), time.process_time()
            r = syncer.run()
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
            if r.error:
                raise SystemExit(f"round: {r.error}")
        after = path.stat()
    finally:
        syncer.close()
    return {"best": min(times), "runs": times, "cpu": min(cpu), "full": bool(r.full), "status": r.status_line().strip(),
            "unchanged": (before.st_ino, before.st_mtime_ns) == (after.st_ino, after.st_mtime_ns)}


PARTS = {"data": part_data, "check-xlsx": part_check_xlsx, "calamine": part_calamine, "diff": part_diff,
         "sync": part_sync}

if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--part":
        print(json.dumps(PARTS[sys.argv[2]](*sys.argv[3:])))
    else:
        main(int(sys.argv[1].replace("_", "").replace(",", "")) if len(sys.argv) > 1 else 50_000)
