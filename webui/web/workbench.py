"""The methodologist's workbench: drafts of the process, their files and problems, publishing.

Every page works without JavaScript: a file is edited as text in a form. When the editor bundle is built
(``make bundle``: bpmn-js, dmn-js, form-js), the file page mounts the matching visual editor over the same form
and writes its XML or JSON back into it before saving, so both paths save through the same route.
"""
from __future__ import annotations

import json
from pathlib import Path

from flask import flash, g, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.core import title_tables
from engine.deadlines.explain import duration_text
from engine.errors import Conflict, DefinitionInvalid, EngineError, InvalidInput, NotFound, ScenarioFailed
from engine.process.compare import grouped
from engine.services import compare as comparisons
from engine.services import definitions, drafts
from engine.services import migrations as migration_service
from engine.services import replay as replays

from ..i18n import current_language
from . import bp, engine, login_required
from .editor_texts import editor_texts
from .util import flash_error, form_int

BUNDLE = Path(__file__).resolve().parent.parent / "static" / "workbench"
EDITORS = {".bpmn": "bpmn", ".dmn": "dmn", ".form.json": "form"}


@bp.get("/workbench")
@login_required
def workbench():
    listing = drafts.list_drafts(engine(), g.actor)  # refuses other roles (403)
    with engine().db.read() as session:
        versions = [{"number": v.version, "note": v.note, "published_at": v.published_at.isoformat(),
                     "open_cases": open_cases} for v, open_cases in definitions.list_versions(session)]
    return render_template("workbench.html", drafts=listing["items"], versions=list(reversed(versions)))


@bp.post("/workbench/drafts")
@login_required
def start_draft():
    try:
        draft = drafts.start_draft(engine(), g.actor, {"name": request.form.get("name", "")})
    except InvalidInput as err:
        flash_error(err, _("Name the draft (1–200 characters)."))
        return redirect(url_for("web.workbench"))
    flash(_("The draft is ready: change its files, then publish it."), "success")
    return redirect(url_for("web.draft", draft_id=draft["id"]))


@bp.get("/workbench/drafts/<int:draft_id>")
@login_required
def draft(draft_id):
    detail = drafts.get_draft(engine(), g.actor, draft_id)
    changes = comparisons.compare_draft(engine(), g.actor, draft_id)
    return render_template("draft.html", draft=detail, groups=grouped(changes["changes"]),
                           tried=_tried(detail), scenario_text=_scenario_text(detail))


def _tried(detail: dict) -> list[dict]:
    """The scenarios' results as the page shows them: task titles in the reader's language (from the draft's
    own translations), deadlines as words."""
    language = current_language()
    table = title_tables(detail["files"]).get(language, {})
    title = lambda text: table.get(text, text)  # noqa: E731 -- the draft's own translations of task titles
    shown = []
    for item in detail["scenarios"]:
        path = [{**entry, "title": title(entry["title"]), "deadline_text": duration_text(
            language, entry["deadline"]["unit"], entry["deadline"]["amount"]) if entry["deadline"] else None}
            for entry in item["path"]]
        events = [{**event, "task": title(event["task"])} for event in item["events"]]
        shown.append({**item, "path": path, "events": events})
    return shown


def _scenario_text(detail: dict) -> str:
    """What the scenario editor starts with: the scenario asked for (?scenario=N), else an example."""
    chosen = form_int(request.args.get("scenario"))
    if chosen is not None and 1 <= chosen <= len(detail["scenarios"]):
        return json.dumps(detail["scenarios"][chosen - 1]["scenario"], ensure_ascii=False, indent=2)
    example = {"name": _("New scenario"), "start": {"date": None, "channel": "mahalla", "calendar": "UZ"},
               "steps": [{"task": "register_referral", "answers": {}, "after": None}],
               "expect": {"status": None, "stage": None}}
    return json.dumps(example, ensure_ascii=False, indent=2)


@bp.get("/workbench/drafts/<int:draft_id>/replay")
@login_required
def replay_draft(draft_id):
    """The draft's deadline rules over the last months of cases, against the current version: how many deadlines
    would have been missed, per district and stage. Aggregates only: no case or person is named."""
    detail = drafts.get_draft(engine(), g.actor, draft_id)
    months = form_int(request.args.get("months"))
    months = 6 if months is None else months
    result, error, status = None, None, 200
    try:
        result = replays.replay(engine(), g.actor, draft_id=draft_id, months=months)
    except InvalidInput:
        error, status = _("Choose from 1 to 36 months."), 422
    except DefinitionInvalid:
        error, status = _("The draft or the current version has problems: fix them first."), 422
    return render_template("replay.html", draft=detail, result=result, error=error, months=months), status


@bp.post("/workbench/drafts/<int:draft_id>/scenarios")
@login_required
def save_scenario(draft_id):
    text = request.form.get("scenario", "")
    try:
        scenario = json.loads(text)
    except (ValueError, RecursionError):
        flash(_("The scenario is not valid JSON: check the brackets, quotes and commas."), "error")
        return redirect(url_for("web.draft", draft_id=draft_id) + "#try")
    try:
        result = drafts.save_scenario(engine(), g.actor, draft_id, {
            "scenario": scenario, "row_version": form_int(request.form.get("row_version"))})
    except InvalidInput as err:
        flash(_("The scenario is not valid: %(where)s.", where=", ".join(sorted(err.fields)) or "—"), "error")
    except Conflict:
        flash(_("Someone saved this draft meanwhile: reload the page and apply your change again."), "error")
    else:
        _flash_scenarios(result)
    return redirect(url_for("web.draft", draft_id=draft_id) + "#try")


@bp.post("/workbench/drafts/<int:draft_id>/scenarios/record")
@login_required
def record_scenario(draft_id):
    try:
        result = drafts.record_scenario(engine(), g.actor, draft_id, {
            "name": request.form.get("name", ""), "row_version": form_int(request.form.get("row_version"))})
    except InvalidInput as err:
        flash(_("Name the scenario (1–120 characters).") if "name" in err.fields else
              _("Sample answers complete no task of this draft: write the scenario's steps by hand."), "error")
    except Conflict:
        flash(_("Fix the draft's problems first, then record a scenario."), "error")
    else:
        _flash_scenarios(result)
    return redirect(url_for("web.draft", draft_id=draft_id) + "#try")


@bp.post("/workbench/drafts/<int:draft_id>/scenarios/delete")
@login_required
def delete_scenario(draft_id):
    try:
        drafts.delete_scenario(engine(), g.actor, draft_id, request.form.get("name", ""),
                               {"row_version": form_int(request.form.get("row_version"))})
        flash(_("The scenario was removed."), "success")
    except EngineError as err:
        flash_error(err, _("Someone saved this draft meanwhile: reload the page and apply your change again."))
    return redirect(url_for("web.draft", draft_id=draft_id) + "#try")


def _flash_scenarios(result: dict) -> None:
    failing = [item for item in result["scenarios"] if not item["passed"]]
    if failing:
        flash(_("Scenarios that fail: %(names)s.", names=", ".join(i["scenario"]["name"] for i in failing)), "error")
    else:
        flash(_("Every scenario passes (%(count)d).", count=len(result["scenarios"])), "success")


@bp.get("/workbench/compare")
@login_required
def workbench_compare():
    """Two published versions side by side: what changed, grouped by kind. Without numbers: the latest version
    against the one before it."""
    numbers = {name: _number(request.args.get(name)) for name in ("from", "to")}
    result, error, status = None, None, 200
    try:
        result = comparisons.compare_versions(engine(), g.actor, numbers["from"], numbers["to"])
    except InvalidInput:
        error, status = _("Choose two versions from the lists."), 422
    except NotFound:
        error, status = _("There is no such version: choose two versions from the lists."), 404
    with engine().db.read() as session:
        versions = [{"number": v.version, "note": v.note} for v, _open in definitions.list_versions(session)
                    if v.process_id == definitions.DEFAULT_PROCESS]
    picked = {"from": result["from"]["number"], "to": result["to"]["number"]} if result else {
        "from": versions[-2]["number"] if len(versions) > 1 else None,
        "to": versions[-1]["number"] if versions else None}
    page = render_template("compare.html", result=result, groups=grouped(result["changes"]) if result else [],
                           error=error, versions=list(reversed(versions)), picked_from=picked["from"],
                           picked_to=picked["to"], embedded=False)
    return page, status


@bp.route("/workbench/drafts/<int:draft_id>/files/<name>", methods=["GET", "POST"])
@login_required
def draft_file(draft_id, name):
    detail = drafts.get_draft(engine(), g.actor, draft_id)
    content, status = None, 200
    if request.method == "POST":
        content = request.form.get("content", "")
        try:
            saved = drafts.save_file(engine(), g.actor, draft_id, name, {
                "content": content, "row_version": form_int(request.form.get("row_version"))})
        except InvalidInput as err:
            flash_error(err, _("The file could not be saved: it is empty or too large."))
            status = 422
        except Conflict:
            flash(_("Someone saved this draft meanwhile: your text is below; reload the page to see theirs."),
                  "error")
            status = 409
        else:
            count = len([p for p in saved["problems"] if p["file"] in _shown_with(name)])
            flash(_("Saved. The set has no problems.") if not saved["problems"] else
                  _("Saved. Problems to fix: %(count)d (this file: %(mine)d).", count=len(saved["problems"]),
                    mine=count), "success" if not saved["problems"] else "error")
            return redirect(url_for("web.draft_file", draft_id=draft_id, name=name))
    elif name not in detail["files"]:
        raise NotFound(f"The draft has no file {name!r}.")
    problems = [p for p in detail["problems"] if p["file"] in _shown_with(name)]
    editor = _editor(name)
    form_key = name[: -len(".form.json")] if name.endswith(".form.json") else None
    page = render_template("draft_file.html", draft=detail, name=name, problems=problems,
                           content=content if content is not None else detail["files"].get(name, ""),
                           editor=editor, form_key=form_key,
                           document=name[: -len(".document.html")] if name.endswith(".document.html") else None,
                           editor_texts=editor_texts() if editor == "bpmn" else {},
                           texts=drafts.form_texts_table(detail, form_key) if form_key else None)
    response = make_response(page, status)
    if editor:  # the editors' stylesheets draw a few icons (checkbox ticks, drag images) as data: images
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; "
            "base-uri 'none'; object-src 'none'")
    return response


@bp.post("/workbench/drafts/<int:draft_id>/forms/<form_key>/texts")
@login_required
def save_form_texts(draft_id, form_key):
    """The translations table of a form: one input per text and language, written as ``<key>.i18n.json``."""
    detail = drafts.get_draft(engine(), g.actor, draft_id)
    table = drafts.form_texts_table(detail, form_key)
    if table is None:
        raise NotFound(f"The draft has no readable form {form_key!r}.")
    translations = {lang: {row["text"]: request.form.get(f"t-{lang}-{i}", "") for i, row in enumerate(table["rows"])}
                    for lang in table["languages"]}
    try:
        saved = drafts.save_form_texts(engine(), g.actor, draft_id, form_key, {
            "translations": translations, "row_version": form_int(request.form.get("row_version"))})
    except Conflict:
        flash(_("Someone saved this draft meanwhile: reload the page and apply your change again."), "error")
    except InvalidInput as err:
        flash_error(err, _("The translations could not be saved: check the texts."))
    else:
        flash(_("Translations saved. The set has no problems.") if not saved["problems"] else
              _("Translations saved. Problems to fix: %(count)d.", count=len(saved["problems"])),
              "success" if not saved["problems"] else "error")
    return redirect(url_for("web.draft_file", draft_id=draft_id, name=f"{form_key}.form.json") + "#translations")


@bp.post("/workbench/drafts/<int:draft_id>/check")
@login_required
def check_draft(draft_id):
    result = drafts.check(engine(), g.actor, draft_id)
    flash(_("The set has no problems.") if not result["problems"] else
          _("Problems to fix: %(count)d.", count=len(result["problems"])),
          "success" if not result["problems"] else "error")
    if result["scenarios"]:
        _flash_scenarios(result)
    return redirect(url_for("web.draft", draft_id=draft_id))


@bp.post("/workbench/drafts/<int:draft_id>/publish")
@login_required
def publish_draft(draft_id):
    try:
        result = drafts.publish(engine(), g.actor, draft_id, {"note": request.form.get("note", "")})
    except InvalidInput as err:
        flash_error(err, _("Say what changed, in 3–500 characters."))
    except DefinitionInvalid:
        flash(_("The draft still has problems: fix them first."), "error")
    except ScenarioFailed as err:
        flash(_("Scenarios that fail: %(names)s.", names=", ".join(err.details["failing"])), "error")
    except EngineError as err:
        flash_error(err)
    else:
        flash(_("Version %(number)d is published: new cases start on it.", number=result["version"]["number"]),
              "success")
        return redirect(url_for("web.workbench"))
    return redirect(url_for("web.draft", draft_id=draft_id))


@bp.post("/workbench/drafts/<int:draft_id>/discard")
@login_required
def discard_draft(draft_id):
    try:
        drafts.discard(engine(), g.actor, draft_id)
        flash(_("The draft was discarded."), "success")
    except EngineError as err:
        flash_error(err)
    return redirect(url_for("web.workbench"))


def _shown_with(name: str) -> tuple[str, ...]:
    """The files whose problems a file's page lists: a form's page also lists those of its translations, which
    the page edits too."""
    if name.endswith(".form.json"):
        return name, name[: -len(".form.json")] + ".i18n.json"
    if name.endswith(".document.html"):  # a document's page lists its translations' problems too
        return name, name[: -len(".html")] + ".i18n.json"
    return (name,)


def _editor(name: str) -> str | None:
    """Which visual editor opens this file, if the bundle is built."""
    kind = next((kind for suffix, kind in EDITORS.items() if name.endswith(suffix)), None)
    return kind if kind and (BUNDLE / f"{kind}-editor.js").exists() else None


def _number(raw):
    """A version number from the query: None when not given; what was sent when it is not a number (refused)."""
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except ValueError:
        return raw



@bp.get("/workbench/migrations")
@login_required
def migrations_page():
    return _migrations_page()


@bp.post("/workbench/migrations/dry-run")
@login_required
def migration_dry_run():
    payload = _migration_form()
    try:
        report = migration_service.dry_run(engine(), g.actor, payload)
    except InvalidInput as err:
        flash_error(err, _("Choose the version the cases are on and a newer one."))
        return _migrations_page(status=422)
    return _migrations_page(report=report)


@bp.post("/workbench/migrations")
@login_required
def apply_migration():
    payload = _migration_form()
    payload["note"] = request.form.get("note", "")
    try:
        result = migration_service.apply(engine(), g.actor, payload)
    except InvalidInput as err:
        flash_error(err, _("Choose the version the cases are on and a newer one."))
        return _migrations_page(status=422)
    flash(_("Moved to version %(to)d: %(moved)d. Stayed where they were: %(kept)d.", moved=result["safe"],
            to=result["to"], kept=result["unsafe"]), "success")
    return _migrations_page(report=result)


@bp.post("/workbench/migrations/<int:migration_id>/revert")
@login_required
def revert_migration(migration_id):
    try:
        result = migration_service.revert(engine(), g.actor, migration_id)
        flash(_("Back on their old version: %(count)d. Moved on since, so stayed: %(kept)d.",
                count=len(result["reverted"]), kept=len(result["kept"])), "success")
    except EngineError as err:
        flash_error(err)
    return redirect(url_for("web.migrations_page"))


def _migration_form() -> dict:
    return {"from": form_int(request.form.get("from")), "to": form_int(request.form.get("to"))}


def _migrations_page(report=None, status=200):
    listing = migration_service.list_migrations(engine(), g.actor)  # refuses other roles (403)
    with engine().db.read() as session:
        versions = [{"number": v.version, "open_cases": open_cases, "note": v.note}
                    for v, open_cases in definitions.list_versions(session)]
    return render_template("migrations.html", migrations=listing["items"], versions=versions, report=report,
                           form=request.form), status
