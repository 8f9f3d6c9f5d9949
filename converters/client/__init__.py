"""RaceEntry's Timer API, endpoint by endpoint: races, participants (read page by page, see
:mod:`converters.client.paging`), teams and team types, and the POSTs that change them. How each request travels
(credentials, retries, moves, error envelopes, schemas) is :mod:`converters.client.transport`'s.
"""

from __future__ import annotations

import os
import time
from typing import Any, Callable

from .. import state
from ..errors import ApiError
from ..model.answers import Answer
from .paging import PAGE_SIZE, ParticipantsRead
from .transport import DEMO_URL, PRODUCTION_URL, Transport


def resolve_base_url(api_url: str | None = None, choice: str | None = None) -> str:
    """--api-url / TIMERSYNC_API_URL, or --demo / --production; else the server of the last login; else
    the demo base (safe)."""
    if choice == "production":
        return PRODUCTION_URL
    if choice == "demo":
        return DEMO_URL
    url = api_url or os.environ.get("TIMERSYNC_API_URL") or state.default_server() or DEMO_URL
    return url.rstrip("/")


class UnknownRace(ApiError):
    """A race id the account cannot see on that server: every command says it the same way."""


def unknown_race(race_id: Any, base_url: str, races: list[dict[str, Any]]) -> str:
    """The one answer every command (pull, diff, push, sync) gives a race id the account cannot see: which
    server, the races it can see (the first few), and what to type."""
    seen = [f"{r.get('race_id')} ({r.get('name')})" if r.get("name") else str(r.get("race_id")) for r in races
            if r.get("race_id") is not None]
    listed = (", ".join(seen[:3]) + (f" and {len(seen) - 3} more" if len(seen) > 3 else "")) if seen else "none"
    return (f"race {race_id} is not a race this account can see on {base_url} (it sees: {listed}); "
            f"check the id with `timersync races`")


class RaceEntryClient(Transport):
    """One RaceEntry account at one base URL."""

    def __init__(self, base_url: str, email: str | None = None, password: str | None = None,
                 timeout: float = 60.0, max_attempts: int = 5, max_backoff: float = 8.0,
                 sleep: Callable[[float], None] = time.sleep, page_size: int = PAGE_SIZE):
        super().__init__(base_url, email, password, timeout, max_attempts, max_backoff, sleep)
        self.page_size = page_size
        self.paging_style: str | None = None  # the paging style participants_answer found: "page", "after", "none"

    # ------------------------------------------------------------------------------------- endpoints
    def races(self, start_date: str | None = None, end_date: str | None = None) -> dict[str, Any]:
        params = {k: v for k, v in (("start_date", start_date), ("end_date", end_date)) if v}
        return self.get("races", params, "races", "races.response")

    def race(self, race_id: int) -> dict[str, Any]:
        """The race object for ``race_id`` (with its events), from GET races."""
        races = [item.get("race") or {} for item in self.races().get("races", [])]
        for race in races:
            if str(race.get("race_id")) == str(race_id):
                return race
        raise UnknownRace(unknown_race(race_id, self.base_url, races))

    def participants(self, race_id: int, since: int = 0, removed: bool = False,
                     progress: Callable[[int], None] | None = None) -> list[dict[str, Any]]:
        """:meth:`participants_answer` as plain JSON values (grouped by event), for scripts and tests."""
        return self.participants_answer(race_id, since, removed, progress).to_json()

    def participants_answer(self, race_id: int, since: int = 0, removed: bool = False,
                            progress: Callable[[int], None] | None = None) -> Answer:
        """Participants (or removed participants) modified at or after ``since``, decoded in one typed pass
        (:func:`converters.model.answers.decode_participants`) with each row's exact bytes kept.

        Without a timestamp RaceEntry uses "now", so a full download passes 0. Read page by page in
        whatever paging style the server turns out to have (:mod:`converters.client.paging`); the style found is
        remembered for this client's later reads (a server found to ignore paging is read once: asking
        again brings nothing), and the pages are merged into one answer, de-duplicated by registration id
        keeping the newest ``last_modified``.
        """
        path = f"race/{race_id}/{'removed_participants' if removed else 'participants'}"
        what = f"{'removed participants' if removed else 'participants'} of race {race_id}"
        return ParticipantsRead(self, path, what, since, removed, progress).run()

    def teams(self, race_id: int) -> list[dict[str, Any]]:
        return self.get(f"race/{race_id}/teams", None, f"teams of race {race_id}", "teams.response")

    def team_types(self, race_id: int) -> dict[str, Any]:
        return self.get(f"race/{race_id}/teams/team_types", None, f"team types of race {race_id}",
                        "team_types.response")

    def post_participants(self, race_id: int, body: dict[str, Any]) -> dict[str, Any]:
        return self.post(f"race/{race_id}/participants", body, "participants.request",
                         "participants.post-response", f"add/modify participants in race {race_id}")

    def switch_events(self, race_id: int, body: dict[str, Any]) -> dict[str, Any]:
        return self.post(f"race/{race_id}/switch_participant_events", body, "switch.request",
                         "participants.post-response", f"switch events in race {race_id}")

    def delete_participants(self, race_id: int, body: dict[str, Any]) -> dict[str, Any]:
        return self.post(f"race/{race_id}/delete_participants", body, "delete.request",
                         "participants.post-response", f"delete participants in race {race_id}")

    def post_teams(self, race_id: int, body: dict[str, Any]) -> dict[str, Any]:
        return self.post(f"race/{race_id}/teams", body, "teams.request", "teams.post-response",
                         f"create teams in race {race_id}")
