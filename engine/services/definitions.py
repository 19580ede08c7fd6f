"""Publishing definition sets as immutable versions, and finding the version a new case starts on."""
from __future__ import annotations

from sqlalchemy import func, select

from ..db.models import Case, DefinitionVersion
from ..process.definitions import compile_definition, content_hash, read_definition_files
from .audit import record

DEFAULT_PROCESS = "case_management"


def publish(engine, files: dict[str, str], *, actor_id=None, note=None,
            process_id: str = DEFAULT_PROCESS) -> tuple[DefinitionVersion, bool]:
    """Compile and store a set as the next version; publishing the same content twice returns the existing one.

    Returns (version, created). Raises ``DefinitionInvalid`` listing every problem; nothing is stored then.
    """
    digest = content_hash(files)
    with engine.db.write() as session:
        existing = session.scalar(select(DefinitionVersion).where(
            DefinitionVersion.process_id == process_id, DefinitionVersion.content_hash == digest))
        if existing is not None:
            return existing, False
    compiled = compile_definition(files, process_id)
    with engine.db.write() as session:
        number = (session.scalar(select(func.max(DefinitionVersion.version))
                                 .where(DefinitionVersion.process_id == process_id)) or 0) + 1
        version = DefinitionVersion(process_id=process_id, version=number, content_hash=digest,
                                    files=compiled.files, spec_json=compiled.spec_json, stages=compiled.stages,
                                    note=note, published_at=engine.now(), published_by_id=actor_id)
        session.add(version)
        session.flush()
        record(session, engine.now(), "definition.published", actor_id=actor_id, process_id=process_id,
               version=number, content_hash=digest, note=note)
        return version, True


def publish_shipped(engine, *, actor_id=None) -> tuple[DefinitionVersion, bool]:
    """Publish the default set from ``workflows/`` and ``forms/`` if it changed since the last version."""
    files = read_definition_files(engine.settings.workflows_dir, engine.settings.forms_dir)
    return publish(engine, files, actor_id=actor_id, note="shipped default")


def latest(session, process_id: str = DEFAULT_PROCESS) -> DefinitionVersion | None:
    return session.scalar(select(DefinitionVersion).where(DefinitionVersion.process_id == process_id)
                          .order_by(DefinitionVersion.version.desc()).limit(1))


def numbered(session, number: int, process_id: str = DEFAULT_PROCESS) -> DefinitionVersion | None:
    """Version ``number`` of the process, or None."""
    return session.scalar(select(DefinitionVersion).where(DefinitionVersion.process_id == process_id,
                                                          DefinitionVersion.version == number))


def list_versions(session):
    counts = dict(session.execute(select(Case.definition_version_id, func.count())
                                  .where(Case.status == "open").group_by(Case.definition_version_id)).all())
    versions = session.scalars(select(DefinitionVersion)
                               .order_by(DefinitionVersion.process_id, DefinitionVersion.version)).all()
    return [(v, counts.get(v.id, 0)) for v in versions]
