"""Documents of a case: the individual service plan, the assessment act, the referral letter, the closure summary.

Each is a template of the published definition set (``<name>.document.html`` with its ``.document.i18n.json``,
``engine/process/documents.py``), filled with the case's data in the reader's language and printed to PDF with
the organisation's header. The templates of the latest published version are used, so a typo fixed and published
applies at once to every case; a document the latest version no longer has is still made from the case's own
version. Every document is listed for every case: a section whose form is not answered yet says so.

Whoever may read the case may issue its documents; an issue is a read of the case, logged as one
(``case.viewed``, "who viewed this case") and as ``document.issued`` with the document and its language.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import date, datetime

from babel.dates import format_date
from babel.numbers import format_decimal
from sqlalchemy import select

from forms import FormDefinition, FormDefinitionError
from forms.i18n import FormTexts

from ..db.models import DefinitionDraft, OrgUnit
from ..deadlines.calendar import WorkingCalendar
from ..errors import InvalidInput, NotFound
from ..i18n import LANGUAGES, N_, babel_locale, tell, translations
from ..pdf import html_to_pdf
from ..process import documents as templates
from . import definitions
from .actors import Actor, visible_case
from .audit import record
from .demo_answers import SAMPLE_ANSWERS

#: The same words (msgids) as the case page's (webui/web/labels.py): one translation serves both.
RISKS = {"none": N_("No risk"), "low": N_("Low risk"), "medium": N_("Medium risk"), "high": N_("High risk")}
CHANNELS = {"mahalla": N_("Mahalla"), "self": N_("Came in person"), "polyclinic": N_("Polyclinic"),
            "school": N_("School"), "police": N_("Police"), "information_system": N_("Information system"),
            "other": N_("Other")}
STATUSES = {"open": N_("Open"), "closed": N_("Closed")}
STAGES = {"identification": N_("Identification"), "assessment": N_("Assessment"), "planning": N_("Planning"),
          "delivery": N_("Delivery"), "monitoring": N_("Monitoring"), "closure": N_("Closure")}
SEXES = {"female": N_("Female"), "male": N_("Male")}
RELATIONS = {"head": N_("Head of household"), "spouse": N_("Spouse"), "child": N_("Child"), "parent": N_("Parent"),
             "sibling": N_("Brother or sister"), "grandparent": N_("Grandparent"), "grandchild": N_("Grandchild"),
             "other": N_("Other relative")}
ROLES = {"social_worker": N_("Social worker"), "supervisor": N_("Supervisor"), "center_head": N_("Centre head"),
         "specialist": N_("Specialist"), "methodologist": N_("Methodologist"), "admin": N_("Administrator")}
PREVIEWERS = ("methodologist",)


# --- the templates of a version -------------------------------------------------------------------------------

_cache: OrderedDict = OrderedDict()
_cache_lock = threading.Lock()


def _documents_of(engine, version) -> dict[str, tuple]:
    """``{name: (Template, texts)}`` of a published version, parsed once per content (a version never changes)."""
    key = version.content_hash
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    found = _parse_documents(engine.version_content(version, "files"))
    with _cache_lock:
        _cache[key] = found
        while len(_cache) > 32:
            _cache.popitem(last=False)
    return found


def _parse_documents(files: dict[str, str]) -> dict[str, tuple]:
    """The readable document templates of a set with their translations (a published set has no broken one; a
    draft's broken one is left out, its problems say why)."""
    found = {}
    for file_name in sorted(files):
        name = templates.document_name(file_name)
        if name is None:
            continue
        template, findings = templates.parse_template(name, files[file_name])
        if template is None:
            continue
        try:
            texts = templates.parse_texts(files.get(name + templates.TEXTS_SUFFIX) or "{}", template)
        except ValueError:
            texts = {}
        found[name] = (template, texts)
    return found


# --- listing and issuing ----------------------------------------------------------------------------------------

def list_documents(engine, actor: Actor, case_id, language: str | None = None) -> dict:
    """The documents that can be issued for a case, with their titles in the reader's language."""
    language = _language(language or actor.language)
    with engine.db.read() as session:
        case = visible_case(session, actor, case_id)
        available = _available(engine, session, case)
    return {"case_id": case_id, "language": language,
            "items": [{"name": name, "title": _title(template, texts, language),
                       "file_name": _file_name(name, case_id, language)}
                      for name, (template, texts, _version) in sorted(available.items())]}


def issue(engine, actor: Actor, case_id, name, language: str | None = None) -> dict:
    """Make one document of a case as PDF: ``{"file_name", "pdf", "title", "language"}``. Logged as a read of the
    case and as ``document.issued``."""
    language = _language(language or actor.language)
    with engine.db.read() as session:
        case = visible_case(session, actor, case_id)
        available = _available(engine, session, case)
        if not isinstance(name, str) or name not in available:
            raise NotFound(f"There is no document {name!r} for this case.")
        template, texts, version = available[name]
        context = case_context(engine, session, case, actor, language)
    html = _render(template, texts, context, language)
    pdf = html_to_pdf(html)
    title = _title(template, texts, language)
    with engine.db.write() as session:
        now = engine.now()
        record(session, now, "case.viewed", actor_id=actor.id, case_id=case_id, origin=actor.origin, document=name)
        # the title as issued (in the issuer's language): what the case file lists
        record(session, now, "document.issued", actor_id=actor.id, case_id=case_id, document=name, language=language,
               version=version, origin=actor.origin, title=title)
    return {"file_name": _file_name(name, case_id, language), "pdf": pdf, "title": title, "language": language}


def preview(engine, actor: Actor, draft_id, name, language: str | None = None) -> dict:
    """A draft's document for a made-up case (the sample answers, no person's data): the methodologist sees what
    the template makes before publishing it. A template with problems is refused with them."""
    actor.require(*PREVIEWERS, action="preview documents")
    language = _language(language or actor.language)
    is_id = isinstance(draft_id, int) and 0 < draft_id < 2 ** 31
    with engine.db.read() as session:
        draft = session.get(DefinitionDraft, draft_id) if is_id else None
        if draft is None:
            raise NotFound(f"There is no draft {draft_id}.")
        files = dict(draft.files)
        region = session.scalar(select(OrgUnit).where(OrgUnit.kind == "region").order_by(OrgUnit.id).limit(1))
        district = session.scalar(select(OrgUnit).where(OrgUnit.kind == "district").order_by(OrgUnit.id).limit(1))
        mahalla = session.scalar(select(OrgUnit).where(OrgUnit.kind == "mahalla").order_by(OrgUnit.id).limit(1))
        org = {"region": region.name if region else "", "district": district.name if district else "",
               "mahalla": mahalla.name if mahalla else ""}
    file_name = f"{name}{templates.TEMPLATE_SUFFIX}" if isinstance(name, str) else ""
    if file_name not in files:
        raise NotFound(f"The draft has no document {name!r}.")
    template, findings = templates.parse_template(name, files[file_name])
    if template is None:
        raise InvalidInput("The template has problems: fix them first.",
                           fields={"template": [tell(None, f.template, f.params) for f in findings]})
    try:
        texts = templates.parse_texts(files.get(name + templates.TEXTS_SUFFIX) or "{}", template)
    except ValueError as err:
        raise InvalidInput("The template's translations have problems: fix them first.",
                           fields={"texts": [str(err)]}) from None
    forms, translators = _forms_of_files(files, language)
    context = _context(language, forms, translators, SAMPLE_ANSWERS, org=org, case={
        "number": 0, "opened_on": _day(language, date(2026, 1, 5)), "closed_on": None,
        "status": _word(language, STATUSES, "open"), "stage": _word(language, STAGES, "planning"),
        "risk_level": _word(language, RISKS, "medium"), "channel": _word(language, CHANNELS, "mahalla"),
        "summary": SAMPLE_ANSWERS["register_referral"]["referral_notes"], "worker": actor.full_name},
        subject={"kind": "person", "name": "Namuna Namunayeva", "birth_date": _day(language, date(1950, 3, 15)),
                 "sex": _word(language, SEXES, "female"), "members": []},
        issued_by=actor, issued_on=engine.now())
    html = _render(template, texts, context, language)
    return {"file_name": f"{name}-sample-{language}.pdf", "pdf": html_to_pdf(html),
            "title": _title(template, texts, language), "language": language}


def _available(engine, session, case) -> dict[str, tuple]:
    """``{name: (Template, texts, version number)}``: the latest version's documents, and those only the case's
    own version has."""
    latest = definitions.latest(session, case.definition_version.process_id)
    found = {}
    for version in (case.definition_version, latest):
        if version is not None:
            found.update({name: (*parsed, version.version) for name, parsed in _documents_of(engine, version).items()})
    return found


def _render(template, texts, context, language) -> str:
    try:
        body = templates.render(template, context, texts, language)
    except templates.RenderFailed as err:
        raise InvalidInput(N_("The document could not be made from its template."),
                           fields={"template": [str(err)]}) from None
    return body if "<html" in body[:500].lower() else (
        f'<!DOCTYPE html><html lang="{language}"><head><meta charset="utf-8"></head><body>{body}</body></html>')


def _language(language) -> str:
    if language not in LANGUAGES:
        raise InvalidInput("Not a language of Yordam.", fields={"lang": ["Use one of: " + ", ".join(LANGUAGES)]})
    return language


def _title(template, texts, language) -> str:
    return texts.get(language, {}).get(template.title) or template.title


def _file_name(name: str, case_id, language: str) -> str:
    return f"{name}-{case_id}-{language}.pdf"


# --- what a template is given ------------------------------------------------------------------------------------

def case_context(engine, session, case, actor: Actor, language: str) -> dict:
    """Everything a document may use for ``case`` (``templates.VARIABLES``), in ``language``."""
    version = case.definition_version
    forms = engine.forms_of(version)
    translators = {key: engine.form_translator(version, key, language) for key in forms}
    answers = engine.runtime.answers_by_form(version.key, engine.spec_loader(version), case.state) \
        if case.state else {}
    mahalla = case.mahalla
    district = session.get(OrgUnit, case.district_id)
    region = district.parent if district is not None else None
    subject = _subject(case, language)
    tz = WorkingCalendar.zone(district.calendar if district is not None and district.calendar else "UZ")
    return _context(language, forms, translators, answers,
                    org={"region": region.name if region else "", "district": district.name if district else "",
                         "mahalla": mahalla.name if mahalla else ""},
                    case={"number": case.id, "opened_on": _day(language, case.opened_at, tz),
                          "closed_on": _day(language, case.closed_at, tz) if case.closed_at else None,
                          "status": _word(language, STATUSES, case.status),
                          "stage": _word(language, STAGES, case.stage) if case.stage else None,
                          "risk_level": _word(language, RISKS, case.risk_level) if case.risk_level else None,
                          "channel": _word(language, CHANNELS, case.channel), "summary": case.summary,
                          "worker": case.owner.full_name if case.owner else ""},
                    subject=subject, issued_by=actor, issued_on=engine.now(), tz=tz)


def _context(language, forms, translators, answers, *, org, case, subject, issued_by, issued_on, tz=None) -> dict:
    shown, raw = {}, {}
    for key, form in forms.items():
        given = answers.get(key) or {}
        shown[key] = {f.key: _shown(f, given.get(f.key), language, translators[key]) for f in form.fields}
        raw[key] = {f.key: given.get(f.key) for f in form.fields}
    referral = answers.get("register_referral") or {}
    categories = raw.get("register_referral", {}).get("client_categories") or []
    case = dict(case, categories=shown.get("register_referral", {}).get("client_categories") or categories)
    subject = dict(subject, address=referral.get("address") or "")
    return {"issued": {"date": _day(language, issued_on, tz), "by": issued_by.full_name,
                       "by_role": _word(language, ROLES, issued_by.role), "language": language},
            "org": org, "case": case, "subject": subject, "answers": shown, "raw": raw}


def _shown(field, value, language, translate):
    """An answer as a document prints it: a choice's label in the language, a date in words, a number grouped."""
    if value is None or value == "":
        return None
    if field.children:
        items = value if isinstance(value, list) else []
        return [{c.key: _shown(c, item.get(c.key), language, translate) for c in field.children}
                for item in items if isinstance(item, dict)]
    if field.options is not None:
        labels = field.option_labels or {}
        if isinstance(value, list):
            return [translate(labels[v]) if v in labels else str(v) for v in value]
        return translate(labels[value]) if value in labels else str(value)
    if field.type == "datetime" and isinstance(value, str):
        try:
            return _day(language, date.fromisoformat(value[:10]))
        except ValueError:
            return value
    if field.type == "number" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return format_decimal(value, locale=babel_locale(language))
    return value


def _subject(case, language) -> dict:
    if case.person is not None:
        return {"kind": "person", "name": case.person.full_name, "sex": _word(language, SEXES, case.person.sex),
                "birth_date": _day(language, case.person.birth_date) if case.person.birth_date else None,
                "members": []}
    members = [{"name": m.person.full_name, "relation": _word(language, RELATIONS, m.relation),
                "birth_date": _day(language, m.person.birth_date) if m.person.birth_date else None,
                "sex": _word(language, SEXES, m.person.sex)} for m in case.household.members]
    return {"kind": "household", "name": case.household.name, "sex": None, "birth_date": None, "members": members}


def _forms_of_files(files: dict[str, str], language: str):
    """The forms of a draft's files and their translators (a form that does not read is left out)."""
    catalogue = translations(language).gettext
    forms, translators = {}, {}
    for file_name in files:
        if file_name.endswith(".form.json"):
            key = file_name[: -len(".form.json")]
            try:
                forms[key] = FormDefinition.from_json(files[file_name], key=key)
            except FormDefinitionError:
                continue
            try:
                texts = FormTexts.from_json(files.get(key + ".i18n.json") or "{}", forms[key])
                translators[key] = texts.translator(language, fallback=catalogue)
            except FormDefinitionError:
                translators[key] = catalogue
    return forms, translators


def _word(language: str, table: dict, code) -> str | None:
    if code is None:
        return None
    text = table.get(code)
    return translations(language).gettext(text) if text else str(code)


def _day(language: str, value, tz=None) -> str:
    """A date in words ("5 January 2026" in the language); an instant as its date where the centre is."""
    if isinstance(value, datetime):
        value = value.astimezone(tz or WorkingCalendar.zone("UZ")).date()
    return format_date(value, "long", locale=babel_locale(language))


