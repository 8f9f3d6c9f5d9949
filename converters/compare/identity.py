"""Who a row is: the folded name a runner is looked up by, whether two records are one runner, the best of
several candidates, and the live runner a new row probably is though not by identity (a short form or a
typo of the first name, another last name with the same email)."""

from __future__ import annotations

import functools
from typing import Iterable

from ..model import Participant
from .values import clean_text, norm


@functools.lru_cache(maxsize=65536)
def fold_name(value: str) -> str:
    """A name as identity compares it: accents dropped, case folded, punctuation and spaces removed
    ("O'Neil-Smith " and "oneil smith" are one name; "Zoë" is "Zoe")."""
    import unicodedata

    text = unicodedata.normalize("NFKD", value)
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def identity(p: Participant) -> tuple[str, str]:
    """The key a runner is looked up by: first and last name, folded (see :func:`fold_name`)."""
    return (fold_name(clean_text(p.first_name)), fold_name(clean_text(p.last_name)))


def same_person(row: Participant, other: Participant) -> bool:
    """``other`` is the runner ``row`` describes. Identity is the folded first and last name plus the date
    of birth; when either side has no date of birth, the email (when both have one), else the event.
    Event and email never tell two runners with the same names and date of birth apart: the same person
    registered in another event is still that person (see :func:`best_match` for ties)."""
    if identity(row) != identity(other) or not identity(row)[1]:
        return False
    dob, odob = norm("dob", row.dob), norm("dob", other.dob)
    if dob and odob:
        return dob == odob
    email, oemail = norm("email", row.email), norm("email", other.email)
    if email and oemail:
        return email == oemail
    return row.event_id is None or other.event_id is None or row.event_id == other.event_id


def best_match(row: Participant, candidates: Iterable[Participant]) -> Participant | None:
    """The candidate who is ``row``'s runner (:func:`same_person`); between several, the one with the same
    email, then the same event, then the lowest registration id (the first registered)."""
    found = [c for c in candidates if same_person(row, c)]
    if len(found) <= 1:
        return found[0] if found else None
    email = norm("email", row.email)

    def rank(c: Participant) -> tuple:
        rid = str(c.registration_id or "")
        return (not (email and norm("email", c.email) == email), c.event_id != row.event_id,
                len(rid), rid)

    return min(found, key=rank)


def identity_index(records: Iterable[Participant], wanted: set[tuple[str, str]] | None = None
                   ) -> dict[tuple, list[Participant]]:
    """``records`` by :func:`identity`; with ``wanted``, for those identities only (a record whose folded
    last name no wanted identity has is passed over without folding its first name)."""
    out: dict[tuple, list[Participant]] = {}
    if wanted is None:
        for c in records:
            out.setdefault(identity(c), []).append(c)
        return out
    if not wanted:
        return out  # nothing to look up: the records are not even walked
    last_names = {w[1] for w in wanted}
    for c in records:
        if fold_name(clean_text(c.last_name)) in last_names:
            key = identity(c)
            if key in wanted:
                out.setdefault(key, []).append(c)
    return out


def _levenshtein_at_most(a: str, b: str, limit: int) -> bool:
    if abs(len(a) - len(b)) > limit:
        return False
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
        if min(cur) > limit:
            return False
        prev = cur
    return prev[-1] <= limit


def near_index(live: Iterable[Participant]) -> dict[tuple, list[Participant]]:
    """Live runners by (folded last name, dob) and by (folded first name, dob, email)."""
    index: dict[tuple, list[Participant]] = {}
    for c in live:
        first, last = identity(c)
        dob = norm("dob", c.dob)
        if not dob:
            continue
        index.setdefault(("last", last, dob), []).append(c)
        email = norm("email", c.email)
        if email:
            index.setdefault(("first", first, dob, email), []).append(c)
    return index


def near_match(p: Participant, index: dict[tuple, list[Participant]]) -> Participant | None:
    """A live runner a new row is probably, though not by identity: the same last name and date of birth
    with a first name that is a short form or a typo of theirs (Walk/Walker, Jon/John) or the same email;
    or the same first name, date of birth and email under another last name (a typo, a marriage). Such a
    row is never added on its own: two runners is a duplicate nobody wants to untangle on race day."""
    dob = norm("dob", p.dob)
    if not dob:
        return None
    first, last = identity(p)
    email = norm("email", p.email)
    for c in index.get(("last", last, dob), ()):
        cfirst = identity(c)[0]
        if email and email == norm("email", c.email) or first and cfirst and (
                first.startswith(cfirst) or cfirst.startswith(first) or _levenshtein_at_most(first, cfirst, 1)):
            return c
    if email:
        return next(iter(index.get(("first", first, dob, email), ())), None)
    return None


def near_why(p: Participant, c: Participant) -> str:
    """What a new row and the live runner :func:`near_match` found share, in words."""
    same = ["last name" if identity(p)[1] == identity(c)[1] else "first name", "date of birth"]
    if norm("email", p.email) and norm("email", p.email) == norm("email", c.email):
        same.append("email")
    return "same " + ", ".join(same[:-1]) + " and " + same[-1]
