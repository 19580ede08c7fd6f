"""The methodologist's drafts: working copies of a definition set, checked on every save, published as versions.

A draft starts from a published version (the latest by default), holds its files by name, and is saved one file
at a time. Every save runs the same validation and lint as publishing (``check_definition``) and keeps the
problems on the draft, so the workbench shows them at once. Two methodologists editing one draft do not
overwrite each other: a save names the ``row_version`` it was based on. Publishing is refused while a problem is
left; the version it makes is immutable, and new cases start on it.

Scenarios (``scenarios.py``) are kept with the draft: each runs in a sandbox when it is saved and again after every
save and check of the files; publishing needs every one of them to pass.
"""
from __future__ import annotations

import json
import re

from sqlalchemy import select

from forms import FormDefinition, FormDefinitionError
from forms.i18n import LANGUAGES, form_texts
from sqlalchemy.orm.exc import StaleDataError

from ..db.models import DefinitionDraft, DefinitionVersion
from ..errors import Conflict, DefinitionInvalid, InvalidInput, NotFound, ScenarioFailed
from ..process.definitions import check_definition, problem_text
from . import definitions, scenarios
from .actors import Actor
from .audit import record
from .inputs import text_problem
from .views import iso

EDITORS = ("methodologist",)
FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
FILE_KINDS = (".bpmn", ".dmn", ".form.json", ".i18n.json", ".document.html")
MAX_FILE_CHARS = 1_000_000
MAX_FILES = 100


def start_draft(engine, actor: Actor, payload) -> dict:
    """A new draft: a copy of the given published version (``from_version``) or of the latest one."""
    actor.require(*EDITORS, action="edit process definitions")
    payload = payload if isinstance(payload, dict) else {}
    name = " ".join(str(payload.get("name") or "").split())
    if not 1 <= len(name) <= 200 or text_problem(name):
        raise InvalidInput("The draft is not valid.", fields={"name": ["Name the draft (1–200 characters)."]})
    number = payload.get("from_version")
    now = engine.now()
    with engine.db.write() as session:
        if number is None:
            base = definitions.latest(session)
        elif isinstance(number, int) and not isinstance(number, bool):
            base = definitions.numbered(session, number)
        else:
            base = None
        if base is None:
            raise InvalidInput("The draft is not valid.", fields={"from_version": ["There is no such version."]})
        draft = DefinitionDraft(process_id=base.process_id, name=name, status="open", files=dict(base.files),
                                problems=[], scenarios=[], based_on_id=base.id, created_by_id=actor.id,
                                created_at=now, updated_by_id=actor.id, updated_at=now)
        session.add(draft)
        session.flush()
        record(session, now, "draft.started", actor_id=actor.id, draft_id=draft.id, from_version=base.version)
        return _view(draft, with_files=True, language=actor.language)


def list_drafts(engine, actor: Actor, *, include_closed: bool = False) -> dict:
    actor.require(*EDITORS, action="see process drafts")
    with engine.db.read() as session:
        query = select(DefinitionDraft).order_by(DefinitionDraft.updated_at.desc())
        if not include_closed:
            query = query.where(DefinitionDraft.status == "open")
        rows = session.scalars(query.limit(200)).all()
        # version numbers in one query: loading each base version would read its files and compiled spec too
        numbers = dict(session.execute(select(DefinitionVersion.id, DefinitionVersion.version).where(
            DefinitionVersion.id.in_({d.based_on_id for d in rows} - {None}))).all()) if rows else {}
        return {"items": [_view(d, number=numbers.get(d.based_on_id), language=actor.language) for d in rows]}


def get_draft(engine, actor: Actor, draft_id) -> dict:
    actor.require(*EDITORS, action="see process drafts")
    with engine.db.read() as session:
        return _view(_draft(session, draft_id), with_files=True, language=actor.language)


def save_file(engine, actor: Actor, draft_id, name: str, payload) -> dict:
    """Save one file of a draft (new or changed) and check the whole set again."""
    actor.require(*EDITORS, action="edit process definitions")
    payload = payload if isinstance(payload, dict) else {}
    content, expected = payload.get("content"), payload.get("row_version")
    problems = {}
    if not isinstance(name, str) or not FILE_NAME.match(name) or not name.endswith(FILE_KINDS):
        problems["name"] = ["Use a file name of letters, digits, dots, dashes or underscores ending in .bpmn, "
                            ".dmn, .form.json, .document.html or .i18n.json."]
    if not isinstance(content, str) or not content.strip():
        problems["content"] = ["Send the file's text."]
    elif text_problem(content):
        problems["content"] = [text_problem(content)]
    elif len(content) > MAX_FILE_CHARS:
        problems["content"] = [f"A file holds at most {MAX_FILE_CHARS:,} characters of text."]
    if not isinstance(expected, int) or isinstance(expected, bool):
        problems["row_version"] = ["Send the row_version of the draft you edited."]
    if problems:
        raise InvalidInput("The file is not valid.", fields=problems)
    return _change_files(engine, actor, draft_id, expected, lambda files: files.__setitem__(name, content),
                         "draft.file_saved", file=name)


def delete_file(engine, actor: Actor, draft_id, name: str, payload) -> dict:
    actor.require(*EDITORS, action="edit process definitions")
    expected = _row_version(payload if isinstance(payload, dict) else {})

    def remove(files):
        if name not in files:
            raise NotFound(f"The draft has no file {name!r}.")
        del files[name]
    return _change_files(engine, actor, draft_id, expected, remove, "draft.file_deleted", file=name)


def check(engine, actor: Actor, draft_id) -> dict:
    """Run the checks on demand (they also run on every save)."""
    actor.require(*EDITORS, action="check process drafts")
    with engine.db.write() as session:
        draft = _draft(session, draft_id)
        draft.problems = [p.as_record() for p in check_definition(draft.files, draft.process_id)]
    return _rerun_scenarios(engine, actor, draft_id)


def discard(engine, actor: Actor, draft_id) -> None:
    actor.require(*EDITORS, action="discard process drafts")
    with engine.db.write() as session:
        draft = _draft(session, draft_id)
        _require_open(draft)
        draft.status, draft.updated_at, draft.updated_by_id = "discarded", engine.now(), actor.id
        record(session, engine.now(), "draft.discarded", actor_id=actor.id, draft_id=draft.id)


def publish(engine, actor: Actor, draft_id, payload) -> dict:
    """Make the draft a new immutable version (with a change note), if it has no problem left."""
    actor.require(*EDITORS, action="publish process definitions")
    payload = payload if isinstance(payload, dict) else {}
    note = " ".join(str(payload.get("note") or "").split())
    if not 3 <= len(note) <= 500 or text_problem(note):
        raise InvalidInput("The publication is not valid.",
                           fields={"note": ["Say what changed, in 3–500 characters."]})
    with engine.db.read() as session:
        draft = _draft(session, draft_id)
        _require_open(draft)
        files, process_id, problems = dict(draft.files), draft.process_id, bool(draft.problems)
    failing = [] if problems else [item["scenario"]["name"] for item in
                                   _rerun_scenarios(engine, actor, draft_id)["scenarios"] if not item["passed"]]
    if failing:
        raise ScenarioFailed(f"Scenarios that fail: {', '.join(failing)}. Fix the draft or the scenarios first.",
                             failing=failing)
    try:
        version, created = definitions.publish(engine, files, actor_id=actor.id, note=note, process_id=process_id)
    except DefinitionInvalid as err:
        with engine.db.write() as session:
            _draft(session, draft_id).problems = [p.as_record() for p in err.problems]
        raise
    if not created:
        raise Conflict(f"Nothing changed: the draft is the same as version {version.version}.")
    with engine.db.write() as session:
        draft = _draft(session, draft_id)
        draft.status, draft.published_version_id, draft.problems = "published", version.id, []
        draft.updated_at, draft.updated_by_id = engine.now(), actor.id
        record(session, engine.now(), "draft.published", actor_id=actor.id, draft_id=draft.id,
               version=version.version, note=note)
        return {"draft": _view(draft, language=actor.language),
                "version": {"number": version.version, "id": version.id,
                            "published_at": iso(version.published_at), "note": note}}


def _change_files(engine, actor, draft_id, expected, mutate, action, **details) -> dict:
    """Change the draft's files (``mutate`` edits a copy) and check the set again."""
    def apply(draft):
        files = dict(draft.files)
        mutate(files)
        if len(files) > MAX_FILES:
            raise InvalidInput("The draft is not valid.", fields={"name": [f"A draft holds at most {MAX_FILES} "
                                                                           "files."]})
        draft.files = files
        draft.problems = [p.as_record() for p in check_definition(files, draft.process_id)]
    return _edit(engine, actor, draft_id, expected, apply, action, **details)


def _edit(engine, actor, draft_id, expected, apply, action, **details) -> dict:
    """One edit of an open draft, refused when someone saved it since ``expected`` (its row version) was read;
    audited; then the scenarios run again on what the draft now is."""
    now = engine.now()
    try:
        with engine.db.write() as session:
            draft = _draft(session, draft_id)
            _require_open(draft)
            if draft.row_version != expected:
                raise Conflict("Someone saved this draft meanwhile: reload it and apply your change again.")
            apply(draft)
            draft.updated_at, draft.updated_by_id = now, actor.id
            record(session, now, action, actor_id=actor.id, draft_id=draft.id, **details)
    except StaleDataError:
        raise Conflict("Someone saved this draft meanwhile: reload it and apply your change again.") from None
    return _rerun_scenarios(engine, actor, draft_id)


# --- translations of a form's texts ----------------------------------------------------------------------------

def form_texts_table(detail: dict, form_key: str) -> dict | None:
    """Every text of a draft's form (labels, descriptions, options) with its translation per language, for the
    form editor's translations table; None when the form cannot be read (its problems say why). Translations of
    texts the form no longer has are listed apart: saving the table drops them."""
    try:
        form = FormDefinition.from_json(detail["files"].get(f"{form_key}.form.json", ""), key=form_key)
    except FormDefinitionError:
        return None
    try:
        stored = json.loads(detail["files"].get(f"{form_key}.i18n.json") or "{}")
        stored = stored if isinstance(stored, dict) else {}
    except ValueError:
        stored = {}
    texts = form_texts(form)
    tables = {lang: table if isinstance(table, dict) else {} for lang, table in stored.items()}
    stale = sorted({text for table in tables.values() for text in table if text not in texts})
    return {"languages": list(LANGUAGES), "stale": stale,
            "rows": [{"text": text, "translations": {lang: str(tables.get(lang, {}).get(text) or "")
                                                     for lang in LANGUAGES}} for text in texts]}


def save_form_texts(engine, actor: Actor, draft_id, form_key: str, payload) -> dict:
    """Write ``<form key>.i18n.json`` from the translations table: every text of the form, per language (an empty
    translation shows the English text); translations of texts the form no longer has are dropped."""
    actor.require(*EDITORS, action="edit process definitions")
    payload = payload if isinstance(payload, dict) else {}
    detail = get_draft(engine, actor, draft_id)
    table = form_texts_table(detail, form_key)
    if table is None:
        raise InvalidInput("The translations are not valid.",
                           fields={"form": ["The form cannot be read: fix its problems first."]})
    given = payload.get("translations") if isinstance(payload.get("translations"), dict) else {}
    content = {}
    for lang in table["languages"]:
        sent = given.get(lang) if isinstance(given.get(lang), dict) else {}
        content[lang] = {row["text"]: str(sent.get(row["text"]) or "").strip() for row in table["rows"]}
    text = json.dumps(content, ensure_ascii=False, indent=2) + "\n"
    return save_file(engine, actor, draft_id, f"{form_key}.i18n.json",
                     {"content": text, "row_version": payload.get("row_version")})


# --- scenarios ------------------------------------------------------------------------------------------------

def save_scenario(engine, actor: Actor, draft_id, payload) -> dict:
    """Add a scenario to the draft, or replace the one of the same name, and run it."""
    actor.require(*EDITORS, action="edit process definitions")
    payload = payload if isinstance(payload, dict) else {}
    expected = _row_version(payload)
    scenario = scenarios.normalise(payload.get("scenario"))

    def put(items):
        kept = [item for item in items if item["scenario"]["name"] != scenario["name"]]
        if len(kept) >= scenarios.MAX_SCENARIOS:
            raise InvalidInput("The scenario is not valid.", fields={
                "name": [f"A draft keeps at most {scenarios.MAX_SCENARIOS} scenarios."]})
        position = next((i for i, item in enumerate(items) if item["scenario"]["name"] == scenario["name"]),
                        len(kept))
        kept.insert(position, {"scenario": scenario, "result": None})
        return kept
    return _change_scenarios(engine, actor, draft_id, expected, put, "draft.scenario_saved",
                             scenario=scenario["name"])


def delete_scenario(engine, actor: Actor, draft_id, name, payload) -> dict:
    actor.require(*EDITORS, action="edit process definitions")
    expected = _row_version(payload if isinstance(payload, dict) else {})

    def remove(items):
        kept = [item for item in items if item["scenario"]["name"] != name]
        if len(kept) == len(items):
            raise NotFound(f"The draft has no scenario {name!r}.")
        return kept
    return _change_scenarios(engine, actor, draft_id, expected, remove, "draft.scenario_deleted", scenario=name)


def record_scenario(engine, actor: Actor, draft_id, payload) -> dict:
    """A new scenario made by walking the draft with sample answers, saved with the draft."""
    actor.require(*EDITORS, action="edit process definitions")
    payload = payload if isinstance(payload, dict) else {}
    expected = _row_version(payload)
    name = " ".join(str(payload.get("name") or "").split())
    scenarios.check_name(name)  # before any work
    with engine.db.read() as session:
        draft = _draft(session, draft_id)
        _require_open(draft)
        if draft.problems:
            raise Conflict("The draft has problems: fix them before recording a scenario.")
        files, process_id, days = dict(draft.files), draft.process_id, scenarios.national_days(session)
    recorded = scenarios.record(files, process_id, name, today=engine.now().date(), language=actor.language,
                                days=days)
    return save_scenario(engine, actor, draft_id, {"scenario": recorded, "row_version": expected})


def _change_scenarios(engine, actor, draft_id, expected, mutate, action, **details) -> dict:
    """Change the draft's list of scenarios (``mutate`` returns the new list)."""
    def apply(draft):
        draft.scenarios = mutate(list(draft.scenarios or []))
    return _edit(engine, actor, draft_id, expected, apply, action, **details)


def _rerun_scenarios(engine, actor, draft_id) -> dict:
    """Run every scenario of the draft on its files as they are now, outside any transaction of the real
    database (each run is a sandbox of its own), then keep the results unless the draft changed meanwhile —
    that change runs them again itself."""
    with engine.db.read() as session:
        draft = _draft(session, draft_id)
        files, process_id, seen = dict(draft.files), draft.process_id, draft.row_version
        items, problems = list(draft.scenarios or []), bool(draft.problems)
        days = scenarios.national_days(session) if items and not problems else []
    if items:
        today = engine.now().date()
        ran = [{"scenario": item["scenario"], "ran_at": iso(engine.now()),
                "result": scenarios.not_run() if problems else
                scenarios.run(files, process_id, item["scenario"], today=today, language=actor.language, days=days)}
               for item in items]
        try:
            with engine.db.write() as session:
                draft = _draft(session, draft_id)
                if draft.row_version == seen:
                    draft.scenarios = ran
        except StaleDataError:
            pass
    with engine.db.read() as session:
        return _view(_draft(session, draft_id), language=actor.language)


def _row_version(payload: dict) -> int:
    expected = payload.get("row_version")
    if not isinstance(expected, int) or isinstance(expected, bool):
        raise InvalidInput("The request is not valid.",
                           fields={"row_version": ["Send the row_version of the draft you edited."]})
    return expected


def _draft(session, draft_id) -> DefinitionDraft:
    draft = session.get(DefinitionDraft, draft_id) if isinstance(draft_id, int) and 0 < draft_id < 2 ** 31 \
        else None
    if draft is None:
        raise NotFound(f"There is no draft {draft_id}.")
    return draft


def _require_open(draft: DefinitionDraft) -> None:
    if draft.status != "open":
        raise Conflict(f"The draft is {draft.status}; start a new one from the published version.")


def _view(draft: DefinitionDraft, *, with_files: bool = False, number: int | None = None,
          language: str = "en") -> dict:
    view = {"id": draft.id, "name": draft.name, "process_id": draft.process_id, "status": draft.status,
            "row_version": draft.row_version, "file_names": sorted(draft.files),
            "based_on_version": number if number is not None else (draft.based_on.version if draft.based_on else None),
            "problems": [_problem_view(p, language) for p in draft.problems or []],
            "created_at": iso(draft.created_at),
            "updated_at": iso(draft.updated_at),
            "scenarios": [_scenario_view(item, language) for item in draft.scenarios or []]}
    if with_files:
        view["files"] = dict(draft.files)
    return view


def _problem_view(problem: dict, language: str) -> dict:
    """A stored problem as the reader sees it: its message and hint in their language (the English text for a
    problem stored before problems had templates); the templates themselves stay in the database."""
    message, hint = problem_text(problem, language)
    return {"file": problem.get("file"), "line": problem.get("line"), "element_id": problem.get("element_id"),
            "rule": problem.get("rule"), "message": message, "hint": hint}


def _scenario_view(item: dict, language: str) -> dict:
    result = item.get("result") or scenarios.not_run()
    return {"scenario": item["scenario"], "ran_at": item.get("ran_at"), "passed": bool(result["passed"]),
            "failure": scenarios.failure_text(result["failure"], language), "path": result["path"],
            "events": result["events"], "end": result["end"]}
