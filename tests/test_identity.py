"""Who is this runner? Identity comes from the runner and from RaceEntry's live state, never from a row's
position: a runner typed twice, a row without an id that RaceEntry already has, a sorted file, a file of
unknown origin, a late entry joining a team."""

from __future__ import annotations

import random

import pytest

from converters.plan import binding
from converters.compare.diff import make_plan
from converters.compare.identity import best_match, same_person
from converters.compare.summary import summary_text
from converters.errors import PlanError
from converters.compare.bodies import participant_payload, participants_request
from converters.model import Participant, Team, TeamType
from converters.push.guards import check_plan
from tests.test_push import col, people, pulled, read_rows, run, write_rows

EVENTS = [16, 67, 68]
TYPES = [TeamType("68", "Team Marathon", [16], {"max_members": 2}),
         TeamType("69", "Corporate", [67, 68], {"max_members": 20})]
TEAMS = [Team(team_id="1", team_type_id="68", team_name="Sole Survivors"),
         Team(team_id="5", team_type_id="69", team_name="Acme Corp")]


def runner(rid, first, last, dob="1990-05-05", event=16, **kw) -> Participant:
    return Participant(registration_id=rid, first_name=first, last_name=last, dob=dob, event_id=event, **kw)


def race(n=40) -> list[Participant]:
    rng = random.Random(7)
    firsts = ["Ann", "Bo", "Cy", "Di", "Ed", "Flo", "Gus", "Hal", "Ivy", "Jo"]
    lasts = ["Lee", "Moe", "Nix", "Orr", "Poe", "Quin", "Roe", "Sun", "Tam", "Uhl", "Vos", "Wu"]
    return [runner(str(1000 + i), firsts[i % 10], f"{lasts[i % 12]}{i}", f"19{50 + i % 40}-0{1 + i % 9}-1{i % 9}",
                   rng.choice(EVENTS), email=f"r{i}@example.com") for i in range(n)]


def plan_of(file, current, **kw):
    kw.setdefault("events", EVENTS)
    kw.setdefault("teams", TEAMS)
    kw.setdefault("team_types", TYPES)
    kw.setdefault("race_id", 2026)
    return make_plan(file, current, **kw)


# ------------------------------------------------------------------------------------------ identity

def test_identity_is_names_and_dob_with_email_and_event_breaking_ties():
    row = runner(None, "Zoë", "O'Neil-Smith", "1971-05-31", 67)
    assert same_person(row, runner("1", "zoe", "ONeil Smith", "1971-05-31", 16))  # another event: same person
    assert not same_person(row, runner("2", "Zoe", "O'Neil-Smith", "1971-05-30", 67))  # another dob
    no_dob = runner(None, "Zoe", "Neil", None, 67, email="z@x.org")
    assert same_person(no_dob, runner("3", "Zoe", "Neil", "1971-05-31", 16, email="Z@X.org"))
    assert not same_person(no_dob, runner("4", "Zoe", "Neil", "1971-05-31", 67, email="other@x.org"))
    twins = [runner("9", "Zoe", "Neil", "1971-05-31", 16, email="a@x.org"),
             runner("8", "Zoe", "Neil", "1971-05-31", 67, email="z@x.org")]
    assert best_match(runner(None, "Zoe", "Neil", "1971-05-31", 16, email="z@x.org"), twins).registration_id == "8"
    assert best_match(runner(None, "Zoe", "Neil", "1971-05-31", 16), twins).registration_id == "9"


def test_no_base_sends_adds_only_and_lists_the_rest():
    current = race()
    file = [p.copy() for p in current]
    file[0] = file[0].copy(first_name="Annabel")  # a timer's edit, or a later fix in RaceEntry: nobody can tell
    file[1] = file[1].copy(event_id=67 if file[1].event_id != 67 else 68)
    del file[5]
    file.append(runner(None, "Late", "Entry", "1985-03-04", 68))
    plan = plan_of(file, current, delete=True)
    assert [a.participant.first_name for a in plan.adds] == ["Late"]
    assert not plan.modifies and not plan.switches and not plan.deletes
    assert {(c.registration_id, c.field) for c in plan.undecided} == {("1000", "first_name"), ("1001", "event_id")}
    assert plan.not_in_file == ["1005"] and any("nothing deleted" in n for n in plan.notes)
    for told in (summary_text(plan), summary_text(plan_of(file, current))):  # never a hint to --delete
        assert "1 RaceEntry participant is not in the file (a file with no base deletes nothing)" in told, told
    both = plan_of(file, current, delete=True, two_way=True)
    assert len(both.modifies) == 1 and len(both.switches) == 1 and len(both.deletes) == 1
    assert "(use --delete to delete it)" in summary_text(plan_of(file, current, two_way=True))


def test_a_runner_typed_twice_is_one_add_or_an_error_naming_both_rows():
    current = race(5)
    late = runner(None, "Walk", "Up", "1980-01-02", 68)
    plan = plan_of(current + [late, late.copy()], current, rows=list(range(2, 9)), two_way=True)
    assert len(plan.adds) == 1 and plan.repeats == [(8, 7)] and not plan.invalid
    plan = plan_of(current + [late, late.copy(city="Elsewhere")], current, rows=list(range(2, 9)), two_way=True)
    assert len(plan.adds) == 1 and plan.invalid and "rows 7 and 8" in plan.invalid[0].message
    # a row typed again for a runner the file already has under an id: not an add either
    again = current[2].copy(registration_id=None)
    plan = plan_of(current + [again], current, rows=list(range(2, 8)), two_way=True)
    assert not plan.adds and plan.repeats == [(7, 4)]


def test_a_row_without_id_that_raceentry_has_is_that_runner_and_nothing_of_it_is_sent():
    current = race(5)
    desk = current[3].copy(team_id="5", team_name="Acme Corp", city="Provo")  # the desk's changes
    live = current[:3] + [desk] + current[4:]
    other_event = 67 if current[3].event_id != 67 else 68
    typed = current[3].copy(registration_id=None, event_id=other_event, city="Ogden")  # as another laptop typed
    plan = plan_of(current[:3] + [current[4], typed], live, rows=[2, 3, 4, 5, 6], two_way=True)
    assert plan.matched == [(6, desk.registration_id)]
    assert not plan.adds and not plan.modifies and not plan.switches
    assert {c.field for c in plan.undecided} == {"city", "team", "event_id"}


def test_one_column_sorted_on_its_own_is_refused_whatever_the_limit():
    current = race(40)
    file = [p.copy() for p in current]
    lasts = sorted(p.last_name for p in file)
    for p, last in zip(file, lasts):
        p.last_name = last
    plan = plan_of(file, current, base=current)
    assert plan.suspect and "last name and nothing else" in plan.suspect
    with pytest.raises(PlanError, match="sorted on its own"):
        check_plan(plan, max_modify="100%")


def test_registration_id_column_sorted_on_its_own_is_refused():
    current = race(40)
    file = [p.copy() for p in current]
    ids = [p.registration_id for p in file]
    random.Random(3).shuffle(ids)
    for p, rid in zip(file, ids):
        p.registration_id = rid
    plan = plan_of(file, current, base=current)
    assert not plan.modifies and not plan.switches
    assert plan.suspect and "Registration ID column" in plan.suspect
    assert "holds the name and date of birth of" in plan.invalid[0].message


def test_max_modify():
    current = race(40)
    file = [p.copy(city=f"Town {i}") for i, p in enumerate(current)]
    plan = plan_of(file, current, base=current)
    assert len(plan.modifies) == 40 and plan.suspect is None  # cities no other runner has: edits
    with pytest.raises(PlanError, match="refusing to change 40 participants at once: the limit is 25"):
        check_plan(plan)
    check_plan(plan, max_modify="40")


def test_late_entry_joining_an_existing_team_is_sent_with_it_and_checked():
    current = race(6)
    current[0] = current[0].copy(event_id=16, team_id="1", team_name="Sole Survivors")
    late = runner(None, "Team", "Mate", "1980-01-02", 16, team_name="sole survivors")
    plan = plan_of(current + [late], current, two_way=True)
    assert plan.adds[0].participant.team_id == "1" and not plan.teams
    from converters.compare.payloads import add_payload

    payload = add_payload(plan.adds[0])
    assert "1" in (str(payload.get("team_id")), str(payload["user"].get("team_id")))
    full = runner(None, "Third", "Member", "1981-01-02", 16, team_name="Sole Survivors")
    plan = plan_of(current + [late, full], current, two_way=True)
    assert [a.participant.first_name for a in plan.adds] == ["Team"]
    assert "team 'Sole Survivors' is full (2 of 2 members)" in plan.invalid[0].message
    wrong = runner(None, "Wrong", "Event", "1981-01-02", 68, team_name="Sole Survivors")
    plan = plan_of(current + [wrong], current, two_way=True)
    assert not plan.adds and "takes events 16, not event 68" in plan.invalid[0].message


def test_ledger_ties_rows_by_the_runner_through_sorts_and_corrections():
    sent = [runner(None, "Late", "Entry", "1985-03-04", 68, email="late@x.org", city="Provo"),
            runner(None, "Walk", "Up", "1970-12-01", 16, email="walk@x.org", city="Ogden")]
    ledger = [binding.ledger_entry("add", 10 + i, str(2000 + i), binding.participant_values(p))
              for i, p in enumerate(sent)]
    # sorted (other rows), the first runner's first name fixed, the second's email fixed
    file = [runner("1", "Ann", "Lee"), sent[1].copy(email="walkup@x.org"), sent[0].copy(first_name="Lately")]
    out, filled = binding.resolve_rows(file, [2, 3, 4], ledger)
    assert [p.registration_id for p in out] == ["1", "2001", "2000"] and sorted(filled) == [(3, "2001"), (4, "2000")]
    # a corrected name RaceEntry has (the desk fixed it, the timer copied it): the record counts too
    record = sent[0].copy(registration_id="2000", first_name="Lately", last_name="Entrie")
    file = [sent[0].copy(first_name="Lately", last_name="Entrie", city="Orem")]
    out, _ = binding.resolve_rows(file, [7], ledger[:1], [record])
    assert out[0].registration_id == "2000"
    # someone else with the same event and row number is not the runner
    out, filled = binding.resolve_rows([runner(None, "Other", "Person", "1999-01-01", 68)], [10], ledger)
    assert not filled


# ------------------------------------------------------------------------------------ over real HTTP

def desk_fix(client, server, p, **changes):
    """The registration desk changes a runner in RaceEntry's own pages; returns the runner as changed."""
    fixed = p.copy(**changes)
    client.post_participants(server.race_id, participants_request([participant_payload(fixed, list(changes))]))
    return fixed


def _late_row(rows, first, last, dob, event_id, email=""):
    row = [""] * len(rows[0])
    row[col(rows, "First Name")], row[col(rows, "Last Name")] = first, last
    row[col(rows, "Event ID")], row[col(rows, "Email")] = str(event_id), email
    row[col(rows, "Date of Birth")] = dob
    return row


def test_added_runner_sorted_then_corrected_is_not_added_again(client, server, tmp_path):
    out = pulled(client, server, tmp_path)
    rows = read_rows(out)
    rows.append(_late_row(rows, "Late", "Sorter", "03/04/1985", 68, "late@sorter.org"))
    write_rows(out, rows)
    assert run("push", out, "--yes").exit_code == 0
    n = len(people(client, server))
    rows = read_rows(out)
    header, body = rows[0], rows[1:]
    body.sort(key=lambda r: r[col(rows, "Last Name")])  # the whole file sorted by last name
    i = next(i for i, r in enumerate(body) if r[col(rows, "Last Name")] == "Sorter")
    body[i][col(rows, "First Name")] = "Lately"
    write_rows(out, [header] + body)
    result = run("push", out, "--yes")
    assert result.exit_code == 0, result.output
    now = people(client, server)
    assert len(now) == n and sum(p.last_name == "Sorter" for p in now) == 1
    assert next(p for p in now if p.last_name == "Sorter").first_name == "Lately"
    assert "No changes to push." in run("diff", out).output


def test_two_laptops_add_the_same_runner_then_the_desk_corrects_it(client, server, tmp_path, monkeypatch):
    """Laptop B matches the runner laptop A added, records it, and never adds it again nor reverts the
    desk's correction and team."""
    homes = {k: tmp_path / f"home-{k}" for k in "AB"}
    files = {}
    # One account on two laptops: each login ends the other's key, so each logs in again as it needs to.
    monkeypatch.setenv("RACEENTRY_EMAIL", server.email)
    monkeypatch.setenv("RACEENTRY_PASSWORD", server.password)
    for k in "AB":
        monkeypatch.setenv("TIMERSYNC_HOME", str(homes[k]))
        assert run("login", "--api-url", server.url).exit_code == 0
        (tmp_path / k).mkdir()
        files[k] = pulled(client, server, tmp_path / k)
    for k in "AB":
        rows = read_rows(files[k])
        rows.append(_late_row(rows, "Twice", "Typed", "07/08/1977", 67, "twice@typed.org"))
        write_rows(files[k], rows)
    monkeypatch.setenv("TIMERSYNC_HOME", str(homes["A"]))
    result = run("push", files["A"], "--yes")
    assert result.exit_code == 0, result.output
    monkeypatch.setenv("TIMERSYNC_HOME", str(homes["B"]))
    result = run("push", files["B"], "--yes")
    assert result.exit_code == 0, result.output
    now = people(client, server)
    added = [p for p in now if p.last_name == "Typed"]
    assert len(added) == 1
    # the desk corrects the name and puts the runner on a team
    team = next(t for t in client.teams(server.race_id) if str(t.get("team_type_id")) == "69")
    desk_fix(client, server, added[0], first_name="Twyce", team_id=str(team["team_id"]))
    for k in "BA":
        monkeypatch.setenv("TIMERSYNC_HOME", str(homes[k]))
        result = run("push", files[k], "--yes")
        assert result.exit_code == 0, result.output
    now = people(client, server)
    added = [p for p in now if p.last_name == "Typed"]
    assert len(added) == 1 and added[0].first_name == "Twyce" and added[0].team_id == str(team["team_id"])


def test_a_colleagues_copy_without_binding_sends_adds_only(client, server, tmp_path, monkeypatch):
    out = pulled(client, server, tmp_path)
    # The colleague's machine: no .timersync/ beside the file, no state folder of ours.
    monkeypatch.setenv("TIMERSYNC_HOME", str(tmp_path / "colleague-home"))
    monkeypatch.setenv("RACEENTRY_EMAIL", server.email)
    monkeypatch.setenv("RACEENTRY_PASSWORD", server.password)
    colleague = tmp_path / "mail"
    colleague.mkdir()
    copy = colleague / "runscore.csv"
    copy.write_bytes(out.read_bytes())
    # meanwhile the desk renames a runner, and a runner registers
    before = people(client, server)
    desk = desk_fix(client, server, before[3], first_name="Deskfixed")
    rows = read_rows(copy)
    rows.append(_late_row(rows, "Mailed", "Entry", "01/02/1990", 68))
    write_rows(copy, rows)
    result = run("push", server.race_id, copy, "-p", "runscore", "--yes", "--delete", "--api-url", server.url)
    assert result.exit_code == 0, result.output
    now = {p.registration_id: p for p in people(client, server)}
    assert now[desk.registration_id].first_name == "Deskfixed"  # not reverted
    assert sum(p.last_name == "Entry" and p.first_name == "Mailed" for p in now.values()) == 1
    assert len(now) == len(before) + 1
    assert "cannot tell" in result.output and result.output.startswith(
        "Read the whole race (the file has no base of its own).\nNo base: runscore.csv was not written")
    again = run("push", server.race_id, copy, "-p", "runscore", "--yes", "--api-url", server.url)
    assert again.exit_code == 0 and len(people(client, server)) == len(before) + 1
    assert {p.registration_id: p.first_name for p in people(client, server)}[desk.registration_id] == "Deskfixed"


def test_a_copy_on_this_machine_is_compared_with_the_version_it_was_made_from(client, server, tmp_path):
    """Copied elsewhere (renamed, no binding beside it), edited, while the desk fixed another runner and
    the original was pulled again: the copy is diffed against the version it was copied from."""
    out = pulled(client, server, tmp_path)
    elsewhere = tmp_path / "usb"
    elsewhere.mkdir()
    copy = elsewhere / "copy of race.csv"
    copy.write_bytes(out.read_bytes())
    before = people(client, server)
    desk = desk_fix(client, server, before[3], first_name="Deskfixed")
    assert pulled(client, server, tmp_path) == out  # pulled again: a newer version of the file
    rows = read_rows(copy)
    i = next(i for i, r in enumerate(rows[1:], 1) if r[col(rows, "Registration ID")] == before[7].registration_id)
    rows[i][col(rows, "City")] = "Copytown"
    write_rows(copy, rows)
    result = run("push", server.race_id, copy, "-p", "runscore", "--yes", "--api-url", server.url)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Read the whole race (the file has no base of its own).\n"
                                    "Compared with the version of race.csv written")
    now = {p.registration_id: p for p in people(client, server)}
    assert now[desk.registration_id].first_name == "Deskfixed" and now[before[7].registration_id].city == "Copytown"


def test_a_copy_dropped_into_a_pushing_drop_folder_keeps_the_desks_fix(client, server, tmp_path):
    """The timer edits a copy of out/runscore.csv and drops it into in/ while the desk fixes another
    runner (and sync rewrote out/): the copy is compared with the version it was copied from."""
    from tests.conftest import drop_folder, watch_round

    folder = drop_folder(tmp_path, server, "settle_seconds = 0.2\npush = true\nsync_every = 60\n")
    watch_round(folder, client)
    copy = tmp_path / "runscore.csv"
    copy.write_bytes((folder / "out" / "runscore.csv").read_bytes())
    before = people(client, server)
    desk = desk_fix(client, server, before[3], first_name="Deskfixed")
    watch_round(folder, client)  # sync writes the desk's fix into out/
    rows = read_rows(copy)
    i = next(i for i, r in enumerate(rows[1:], 1) if r[col(rows, "Registration ID")] == before[7].registration_id)
    rows[i][col(rows, "City")] = "Droptown"
    write_rows(copy, rows)
    copy.replace(folder / "in" / "runscore.csv")
    summary = watch_round(folder, client)
    assert summary.count("done") == 1, summary.outcomes
    text = (folder / "out" / "runscore.plan" / "summary.txt").read_text()
    assert "pushed: 0 added, 1 modified" in text and "Compared with the version of runscore.csv" in text
    now = {p.registration_id: p for p in people(client, server)}
    assert now[desk.registration_id].first_name == "Deskfixed" and now[before[7].registration_id].city == "Droptown"


def test_a_row_too_like_a_live_runner_is_never_added_on_its_own():
    current = race(5)
    walker = runner("77", "Walker", "Upton", "1985-03-04", 68, email="walk@upton.org")
    live = current + [walker]
    for typed in (runner(None, "Walk", "Upton", "1985-03-04", 68),  # a short form
                  runner(None, "Walkr", "Upton", "1985-03-04", 16),  # a typo
                  runner(None, "Jo", "Upton", "1985-03-04", 68, email="walk@upton.org"),  # same email
                  runner(None, "Walker", "Upton-Smith", "1985-03-04", 68, email="walk@upton.org")):  # married
        plan = plan_of(current + [typed], live, rows=list(range(2, 8)), two_way=True)
        assert not plan.adds, typed
        assert "looks like registration 77 (Walker Upton" in plan.invalid[0].message
        assert "--new-runner 7" in plan.invalid[0].message
        plan = plan_of(current + [typed], live, rows=list(range(2, 8)), two_way=True, new_runners={7})
        assert len(plan.adds) == 1 and not plan.invalid
    twin = runner(None, "Emily", "Upton", "1985-03-04", 68, email="parent@upton.org")  # a twin: another runner
    plan = plan_of(current + [twin], live, rows=list(range(2, 8)), two_way=True)
    assert len(plan.adds) == 1 and not plan.invalid
