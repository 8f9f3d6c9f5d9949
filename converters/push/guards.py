"""The guards of a push: plans that must not go ahead are refused before anything is sent (a file that
looks scrambled or truncated, invalid rows, more modifies, switches or deletes than ``--max-modify`` and
``--max-delete`` allow).
"""

from __future__ import annotations

from ..compare.plans import Plan
from ..errors import PlanError


def delete_limit(spec: str | int | None, race_size: int) -> int:
    """``--max-delete``: N, or P% of the race; by default 10% of the race or 25, whichever is smaller."""
    if spec is None or spec == "":
        return min(race_size // 10, 25)
    text = str(spec).strip()
    try:
        if text.endswith("%"):
            return int(race_size * float(text[:-1]) / 100)
        value = int(text)
    except ValueError:
        raise PlanError(f"--max-delete must be a number or a percentage such as 5%, not {text!r}") from None
    if value < 0:
        raise PlanError("--max-delete must not be negative")
    return value


def modify_limit(spec: str | int | None, race_size: int) -> int:
    """``--max-modify``: N, or P% of the race; by default 10% of the race or 25, whichever is larger."""
    if spec is None or spec == "":
        return max(race_size // 10, 25)
    text = str(spec).strip()
    try:
        value = int(race_size * float(text[:-1]) / 100) if text.endswith("%") else int(text)
    except ValueError:
        raise PlanError(f"--max-modify must be a number or a percentage such as 20%, not {text!r}") from None
    if value < 0:
        raise PlanError("--max-modify must not be negative")
    return value


def check_plan(plan: Plan, max_delete: str | int | None = None, skip_invalid: bool = False,
               max_modify: str | int | None = None) -> None:
    """Refuse plans that must not go ahead: a file that looks scrambled (a column sorted on its own),
    invalid rows (unless skipped), modifies and switches above their limit, and deletions above theirs or
    from a file that looks truncated (empty, or under half of RaceEntry's participants)."""
    if plan.suspect:
        raise PlanError(f"{plan.suspect}; nothing sent: undo the sort in the file (or pull it again) and "
                        f"redo the edits")
    changed = len({m.registration_id for m in plan.modifies} | {s.registration_id for s in plan.switches})
    if changed:
        limit = modify_limit(max_modify, plan.current_count)
        if changed > limit:
            raise PlanError(f"refusing to change {changed} participants at once: the limit is {limit} "
                            f"(--max-modify; default 10% of the race or 25, whichever is larger); nothing sent")
    if plan.invalid and not skip_invalid:
        shown = "; ".join(f"row {i.row}{f' ({i.who})' if i.who else ''}: {i.message}" for i in plan.invalid[:5])
        more = f"; and {len(plan.invalid) - 5} more" if len(plan.invalid) > 5 else ""
        raise PlanError(f"{len(plan.invalid)} invalid row{'s' if len(plan.invalid) != 1 else ''}, nothing sent "
                        f"({shown}{more}); fix them, or use --skip-invalid to send the valid rows")
    if plan.deletes:
        n = plan.current_count
        if plan.file_rows == 0 or plan.file_rows * 2 < n:
            raise PlanError(f"refusing to delete: the file has {plan.file_rows} rows for RaceEntry's {n} "
                            f"participants, so it looks truncated or empty; nothing sent")
        limit = delete_limit(max_delete, n)
        if len(plan.deletes) > limit:
            raise PlanError(f"refusing to delete {len(plan.deletes)} participants: the limit is {limit} "
                            f"(--max-delete; default 10% of the race or 25, whichever is smaller); nothing sent")
