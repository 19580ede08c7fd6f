"""What changed between two published versions of the process, or in a draft since the version it started from.

For methodologists only, like the rest of the workbench. The comparison itself is ``engine.process.compare``:
plain data, every change with its value before and after.
"""
from __future__ import annotations


from ..db.models import DefinitionVersion
from ..errors import InvalidInput, NotFound
from ..process.compare import compare
from . import definitions
from .actors import Actor
from .drafts import EDITORS, _draft
from .views import iso

MAX_NUMBER = 2 ** 31 - 1


def compare_versions(engine, actor: Actor, old_number=None, new_number=None,
                     process_id: str = definitions.DEFAULT_PROCESS) -> dict:
    """Version ``old_number`` against version ``new_number``. Without ``new_number``: the latest version; without
    ``old_number``: the one before ``new_number`` (itself if it is the first)."""
    actor.require(*EDITORS, action="compare process versions")
    problems = {name: ["Give a version number (a whole number from 1)."]
                for name, value in (("from", old_number), ("to", new_number))
                if value is not None and not _is_number(value)}
    if problems:
        raise InvalidInput("The comparison is not valid.", fields=problems)
    with engine.db.read() as session:
        if new_number is None:
            new = definitions.latest(session, process_id)
            if new is None:
                raise NotFound("No version of the process is published yet.")
        else:
            new = _version(session, process_id, new_number)
        old = _version(session, process_id, old_number if old_number is not None else max(new.version - 1, 1))
        return {"process_id": process_id, "from": _ref(old), "to": _ref(new), "changes": compare(old.files,
                                                                                                 new.files)}


def compare_draft(engine, actor: Actor, draft_id) -> dict:
    """A draft's files against the version it was started from (its changes so far)."""
    actor.require(*EDITORS, action="see process drafts")
    with engine.db.read() as session:
        draft = _draft(session, draft_id)
        base = draft.based_on
        return {"process_id": draft.process_id,
                "draft": {"id": draft.id, "name": draft.name, "status": draft.status,
                          "row_version": draft.row_version, "updated_at": iso(draft.updated_at)},
                "from": _ref(base) if base is not None else None,
                "changes": compare(base.files if base is not None else {}, draft.files)}


def _is_number(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_NUMBER


def _version(session, process_id: str, number: int) -> DefinitionVersion:
    version = definitions.numbered(session, number, process_id)
    if version is None:
        raise NotFound(f"There is no version {number} of the process.")
    return version


def _ref(version: DefinitionVersion) -> dict:
    return {"number": version.version, "id": version.id, "note": version.note,
            "published_at": iso(version.published_at), "content_hash": version.content_hash}
