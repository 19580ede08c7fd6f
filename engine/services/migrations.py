"""Moving running cases to a newer version: a dry run that says, case by case, whether it can move and why not;
applying it to the safe cases in batches (each case in its own transaction, audited); reverting a migration.

A moved case keeps its open tasks (same ids), their assignees, deadlines and drafts, its data and its history;
only the definitions it follows change. The report names cases by number only: the methodologist who runs it
sees no personal data.
"""
from __future__ import annotations

from sqlalchemy import select

from ..db.models import Case, CaseMigration, DefinitionVersion, Migration, Task
from ..errors import Conflict, InvalidInput, NotFound
from ..i18n import N_, gettext
from ..process.migration import move_case
from .actors import Actor
from .audit import record
from .inputs import text_problem
from . import definitions
from .progress import lock_case
from .views import iso

MIGRATORS = ("methodologist",)
BATCH = 100


def dry_run(engine, actor: Actor, payload) -> dict:
    """For every open case on version ``from``: can it move to version ``to``, and if not, why."""
    actor.require(*MIGRATORS, action="migrate running cases")
    old, new = _versions(engine, payload)
    report = []
    for case_id in _open_case_ids(engine, old):
        with engine.db.read() as session:
            state = session.scalar(select(Case.state).where(Case.id == case_id))
        check = move_case(engine.runtime, old.key, engine.spec_loader(old), new.key, engine.spec_loader(new), state,
                          new.version)
        report.append({"case_id": case_id, "safe": check.safe, "reasons": _told(check.reasons, actor),
                       "changed_open_tasks": check.changed_open_tasks})
    return _summary(old, new, report)


def apply(engine, actor: Actor, payload) -> dict:
    """Move every safe open case of version ``from`` to ``to``; unsafe ones are listed and left untouched."""
    actor.require(*MIGRATORS, action="migrate running cases")
    old, new = _versions(engine, payload)
    note = " ".join(str(payload.get("note") or "").split())[:500] or None
    if note and text_problem(note):
        raise InvalidInput("The migration is not valid.", fields={"note": [text_problem(note)]})
    now = engine.now()
    with engine.db.write() as session:
        migration = Migration(from_version_id=old.id, to_version_id=new.id, created_by_id=actor.id, created_at=now,
                              note=note, moved=0, unsafe=0)
        session.add(migration)
        session.flush()
        migration_id = migration.id
        record(session, now, "migration.started", actor_id=actor.id, migration_id=migration_id,
               from_version=old.version, to_version=new.version)
    report = []
    case_ids = _open_case_ids(engine, old)
    for start in range(0, len(case_ids), BATCH):
        for case_id in case_ids[start:start + BATCH]:
            report.append(_move_one(engine, actor, migration_id, case_id, old, new))
    summary = _summary(old, new, report)
    with engine.db.write() as session:
        migration = session.get(Migration, migration_id)
        migration.moved, migration.unsafe = summary["safe"], summary["unsafe"]
    summary["migration_id"] = migration_id
    return summary


def _move_one(engine, actor, migration_id, case_id, old, new) -> dict:
    """One case, in its own transaction: checked again on its current state, moved, its open tasks' projections
    refreshed from the new version (ids, assignees and deadlines kept)."""
    now = engine.now()
    with engine.db.write() as session:
        case = lock_case(session, case_id)
        if case.definition_version_id != old.id or case.status != "open":
            return {"case_id": case_id, "safe": False, "changed_open_tasks": [],
                    "reasons": [gettext(actor.language, N_("the case changed version or closed meanwhile"))]}
        check = move_case(engine.runtime, old.key, engine.spec_loader(old), new.key, engine.spec_loader(new),
                          case.state, new.version)
        if not check.safe:
            return {"case_id": case_id, "safe": False, "reasons": _told(check.reasons, actor), "changed_open_tasks": []}
        old_state = case.state
        outcome = engine.runtime.inspect(new.key, engine.spec_loader(new), check.state)
        case.state, case.definition_version_id = check.state, new.id
        case.next_timer_at = outcome.next_timer_at
        case.updated_at = now
        _refresh_open_tasks(session, case, outcome)
        record(session, now, "case.migrated", actor_id=actor.id, case_id=case.id, migration_id=migration_id,
               from_version=old.version, to_version=new.version, changed_open_tasks=check.changed_open_tasks)
        session.flush()
        session.add(CaseMigration(migration_id=migration_id, case_id=case.id, old_state=old_state,
                                  old_version_id=old.id, row_version_after=case.row_version, moved_at=now))
        return {"case_id": case_id, "safe": True, "reasons": [], "changed_open_tasks": check.changed_open_tasks}


def revert(engine, actor: Actor, migration_id) -> dict:
    """Put every case of a migration back on its old version, unless it has changed since it moved."""
    actor.require(*MIGRATORS, action="revert migrations")
    now = engine.now()
    with engine.db.read() as session:
        migration = session.get(Migration, migration_id) if isinstance(migration_id, int) else None
        if migration is None:
            raise NotFound(f"There is no migration {migration_id}.")
        if migration.reverted_at is not None:
            raise Conflict("This migration was already reverted.")
        moves = session.execute(select(CaseMigration.id, CaseMigration.case_id)
                                .where(CaseMigration.migration_id == migration_id,
                                       CaseMigration.reverted_at.is_(None))).all()
    reverted, kept = [], []
    for move_id, case_id in moves:
        with engine.db.write() as session:
            move = session.get(CaseMigration, move_id)
            case = lock_case(session, case_id)
            if case.row_version != move.row_version_after:
                kept.append({"case_id": case_id,
                             "reason": gettext(actor.language, N_("the case has changed since it moved"))})
                continue
            version = session.get(DefinitionVersion, move.old_version_id)
            outcome = engine.runtime.inspect(version.key, engine.spec_loader(version), move.old_state)
            case.state, case.definition_version_id = move.old_state, move.old_version_id
            case.next_timer_at, case.updated_at = outcome.next_timer_at, now
            _refresh_open_tasks(session, case, outcome)
            move.reverted_at = now
            record(session, now, "case.migration_reverted", actor_id=actor.id, case_id=case.id,
                   migration_id=migration_id)
            reverted.append(case_id)
    with engine.db.write() as session:
        session.get(Migration, migration_id).reverted_at = now
        record(session, now, "migration.reverted", actor_id=actor.id, migration_id=migration_id,
               reverted=len(reverted), kept=len(kept))
    return {"migration_id": migration_id, "reverted": reverted, "kept": kept}


def _told(reasons, actor) -> list[str]:
    return [reason.text(actor.language) for reason in reasons]


def _refresh_open_tasks(session, case, outcome) -> None:
    """The open tasks' projections follow the version the case is now on; ids, assignees and deadlines stay."""
    opened = {t.id: t for t in outcome.open_tasks}
    for task in session.scalars(select(Task).where(Task.case_id == case.id, Task.state == "open",
                                                   Task.kind == "process")):
        spec = opened.get(task.id)
        if spec is not None:
            task.title, task.form_key, task.stage, task.lane = spec.title, spec.form_key, spec.stage, spec.lane


def _versions(engine, payload) -> tuple[DefinitionVersion, DefinitionVersion]:
    payload = payload if isinstance(payload, dict) else {}
    problems, numbers = {}, {}
    for name in ("from", "to"):
        value = payload.get(name)
        if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 2 ** 31:
            problems[name] = ["Give a published version number."]
        numbers[name] = value
    if not problems and numbers["from"] >= numbers["to"]:
        problems["to"] = ["Cases move to a newer version than the one they are on."]
    if problems:
        raise InvalidInput("The migration is not valid.", fields=problems)
    with engine.db.read() as session:
        found = {name: definitions.numbered(session, number) for name, number in numbers.items()}
        missing = {name: ["There is no such version."] for name, version in found.items() if version is None}
        if missing:
            raise InvalidInput("The migration is not valid.", fields=missing)
        for version in found.values():
            session.expunge(version)
        return found["from"], found["to"]


def _open_case_ids(engine, version) -> list[int]:
    """Ids only: a case's state (tens of kilobytes) is read when its turn comes, not all of them at once."""
    with engine.db.read() as session:
        return list(session.scalars(select(Case.id).where(Case.definition_version_id == version.id,
                                                          Case.status == "open").order_by(Case.id)))


def _summary(old, new, report) -> dict:
    safe = sum(1 for r in report if r["safe"])
    return {"from": old.version, "to": new.version, "cases": report, "safe": safe, "unsafe": len(report) - safe}


def list_migrations(engine, actor: Actor) -> dict:
    actor.require(*MIGRATORS, action="see migrations")
    with engine.db.read() as session:
        versions = {v.id: v.version for v in session.scalars(select(DefinitionVersion))}
        rows = session.scalars(select(Migration).order_by(Migration.id.desc()).limit(100)).all()
        return {"items": [{"id": m.id, "from": versions.get(m.from_version_id), "to": versions.get(m.to_version_id),
                           "moved": m.moved, "unsafe": m.unsafe, "note": m.note, "created_at": iso(m.created_at),
                           "reverted_at": iso(m.reverted_at)} for m in rows]}
