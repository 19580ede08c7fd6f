"""Definition sets: BPMN + DMN + form files that are parsed, validated, linted and compiled together.

A set compiles to a ``CompiledDefinition`` whose ``spec_json`` is what a published version stores: the
restored spec is cached per version by the runtime, never re-parsed per request (brief §8.3).
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser import VALIDATOR, SpiffBpmnParser

from forms import FormDefinition, FormDefinitionError

from ..db.models import AGENCY_PURPOSES, CONSENT_PURPOSES
from ..deadlines.rules import RuleError, parse_rule
from ..errors import DefinitionInvalid
from ..i18n import N_, Complaint, tell
from . import documents as document_templates
from .scripting import ScriptCompileError, compile_expression, compile_script
from .serialization import spec_to_json
from .texts import language_tables
from .xml import UnsafeXML, parse_xml

ROLES = ("social_worker", "supervisor", "center_head", "specialist")
#: Who an escalation ladder may climb to: the people who can reassign, extend or acknowledge.
ESCALATION_ROLES = ("supervisor", "center_head")
NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
}
_HUMAN_TASKS = ("userTask", "manualTask")
_UNQUOTED_TIMER = re.compile(r"^\s*(R\d*/|P\d|PT\d|P\d+W|\d{4}-\d{2}-\d{2})", re.IGNORECASE)
_DUNDER = re.compile(r"(^|[^\w])_\w*")
_FORM_SUFFIX = ".form.json"
#: Translations beside a form (``<form key>.i18n.json``) or a process (``<bpmn file stem>.i18n.json``).
TEXTS_SUFFIX = ".i18n.json"


@dataclass(frozen=True)
class Problem:
    """A problem of a definition set. ``message`` and ``hint`` are the English texts; ``template`` and
    ``hint_template`` (catalogue msgids, ``%(name)s`` placeholders) with their ``params`` let a stored problem be
    told again in the reader's language (``problem_text``). A param may itself be a nested
    ``{"template", "params"}`` (a deadline rule's own complaint); text from a library (lxml, SpiffWorkflow, the
    forms package, Python) is a plain param, shown as it is."""
    file: str
    message: str
    rule: str
    element_id: str | None = None
    line: int | None = None
    hint: str | None = None
    template: str | None = field(default=None, compare=False, repr=False)
    params: dict = field(default_factory=dict, compare=False, repr=False)
    hint_template: str | None = field(default=None, compare=False, repr=False)
    hint_params: dict | None = field(default=None, compare=False, repr=False)  # None: the hint uses ``params``

    @classmethod
    def of(cls, file: str, template: str, rule: str, element_id: str | None = None, line: int | None = None,
           hint: str | None = None, *, hint_params: dict | None = None, **params) -> "Problem":
        """A problem told by a catalogue template (``N_``) and its params; the hint is a template too, filled
        with ``hint_params`` when given, else with the same params."""
        return cls(file, tell(None, template, params), rule, element_id, line,
                   tell(None, hint, params if hint_params is None else hint_params) if hint else None,
                   template, params, hint or None, hint_params)

    @classmethod
    def foreign(cls, file: str, message: str, rule: str, element_id: str | None = None, line: int | None = None,
                hint: str | None = None, **hint_params) -> "Problem":
        """A problem whose message is a library's own text (kept as it is); its hint is a template."""
        return cls(file, message, rule, element_id, line, tell(None, hint, hint_params) if hint else None,
                   None, {}, hint or None, hint_params or None)

    def __str__(self):
        where = self.file + (f":{self.line}" if self.line else "")
        element = f" [{self.element_id}]" if self.element_id else ""
        hint = f" — {self.hint}" if self.hint else ""
        return f"{where}{element}: {self.message}{hint}"

    def as_dict(self):
        return {"file": self.file, "line": self.line, "element_id": self.element_id, "rule": self.rule,
                "message": self.message, "hint": self.hint}

    def as_record(self):
        """``as_dict`` with what re-tells the problem in another language (what a draft stores, JSON-safe)."""
        record = dict(self.as_dict(), template=self.template, params=dict(self.params),
                      hint_template=self.hint_template)
        if self.hint_params is not None:
            record["hint_params"] = dict(self.hint_params)
        return record


def _said(err) -> str | dict:
    """An error as a problem's param: a nested template when it has one, else its text (a library's)."""
    if getattr(err, "template", None):
        return {"template": err.template, "params": err.params}
    return str(err)


def problem_text(problem: dict, language: str) -> tuple[str, str | None]:
    """A stored problem (``Problem.as_record``) told in a language: ``(message, hint)``. A problem stored before
    problems had templates, or one whose translation does not fit its params, keeps its English text."""
    message, hint = problem.get("message"), problem.get("hint")
    params = problem.get("params") or {}
    if problem.get("template"):
        try:
            message = tell(language, problem["template"], params)
        except (KeyError, TypeError, ValueError):
            pass
    if problem.get("hint_template"):
        hint_params = problem.get("hint_params")
        try:
            hint = tell(language, problem["hint_template"], params if hint_params is None else hint_params)
        except (KeyError, TypeError, ValueError):
            pass
    return message, hint


@dataclass(frozen=True)
class UserTaskInfo:
    bpmn_id: str
    title: str
    lane: str | None
    form_key: str | None
    stage: str | None
    properties: dict


@dataclass
class CompiledDefinition:
    process_id: str
    content_hash: str
    files: dict[str, str]
    spec_json: str
    user_tasks: dict[str, UserTaskInfo]
    stages: list[str]
    forms: dict[str, FormDefinition] = field(repr=False)


def read_definition_files(*folders: Path) -> dict[str, str]:
    """Collect the BPMN, DMN and form files of the shipped default set, keyed by file name."""
    files = {}
    for folder in folders:
        for path in sorted(Path(folder).iterdir()):
            if path.suffix in (".bpmn", ".dmn") or path.name.endswith((_FORM_SUFFIX, TEXTS_SUFFIX,
                                                                        document_templates.TEMPLATE_SUFFIX)):
                files[path.name] = read_text_file(path)
    return files


def read_text_file(path: Path) -> str:
    """Read a definition file as UTF-8; anything else is a problem for its author, not a crash."""
    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as err:
        problem = Problem.of(path.name, N_("the file is not UTF-8 encoded (byte %(byte)s)"), "encoding",
                             hint=N_("save it as UTF-8"), byte=err.start)
        raise DefinitionInvalid(f"The definition has 1 problem(s): {problem}", [problem]) from None


def content_hash(files: dict[str, str]) -> str:
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name].encode("utf-8") + b"\0")
    return digest.hexdigest()


def compile_definition(files: dict[str, str], process_id: str = "case_management") -> CompiledDefinition:
    """Parse, validate, lint and compile a definition set. Raises ``DefinitionInvalid`` listing every problem."""
    problems, trees, forms, orphans = _load(files)
    if not problems:
        problems += lint(trees, forms)
    if not problems:
        problems += orphans
    spec_json = None
    if not problems:
        spec_json, parse_problems = _parse_with_spiff(trees, process_id)
        problems += parse_problems
    if problems:
        raise DefinitionInvalid(f"The definition has {len(problems)} problem(s): {problems[0]}", problems)
    bpmn_roots = {name: root for name, root in trees.items() if name.endswith(".bpmn")}
    return CompiledDefinition(
        process_id=process_id, content_hash=content_hash(files), files=dict(files), spec_json=spec_json,
        user_tasks=_user_tasks(bpmn_roots), stages=_stage_order(bpmn_roots, process_id), forms=forms)


def check_definition(files: dict[str, str], process_id: str = "case_management") -> list[Problem]:
    """Every problem of a set, without raising (for ``yordam workflows lint`` and the workbench)."""
    try:
        compile_definition(files, process_id)
    except DefinitionInvalid as err:
        return err.problems
    return []


def _load(files):
    problems, trees, forms = [], {}, {}
    for name, text in sorted(files.items()):
        if name.endswith(_FORM_SUFFIX):
            try:
                forms[name[: -len(_FORM_SUFFIX)]] = FormDefinition.from_json(text, key=name[: -len(_FORM_SUFFIX)])
            except FormDefinitionError as err:
                problems.append(Problem.foreign(name, str(err), "form", hint=N_("fix the form definition")))
        elif name.endswith((".bpmn", ".dmn")):
            try:
                root = parse_xml(text)
            except UnsafeXML as err:
                problems.append(Problem.foreign(name, str(err), "xml", line=err.line))
            else:
                wrong = _wrong_root(name, root)
                if wrong:
                    problems.append(wrong)
                else:
                    trees[name] = root
        elif not name.endswith((TEXTS_SUFFIX, document_templates.TEMPLATE_SUFFIX)):
            problems.append(Problem.of(name, N_("unknown file type (expected .bpmn, .dmn, .form.json, "
                                                ".document.html or .i18n.json)"), "file"))
    if not any(n.endswith(".bpmn") for n in trees) and not problems:
        problems.append(Problem.of("(set)", N_("the set has no BPMN file"), "file"))
    text_problems = []
    for name in sorted(n for n in files if n.endswith(TEXTS_SUFFIX) and not n.endswith(
            document_templates.TEXTS_SUFFIX)):
        stem = name[: -len(TEXTS_SUFFIX)]
        if (stem + _FORM_SUFFIX in files and stem not in forms) or (stem + ".bpmn" in files and
                                                                   stem + ".bpmn" not in trees):
            continue  # its form or process is broken and already reported
        text_problems += _check_texts(name, files[name], forms, trees)
    document_problems, document_consequences = _check_documents(files, forms)
    problems += [p for p in text_problems if p.rule != "orphan"] + document_problems
    # A translation file whose form or process is missing is a consequence, not a cause: said only when the
    # set has nothing more important to fix (see compile_definition). So is a document quoting a missing form.
    return problems, trees, forms, [p for p in text_problems if p.rule == "orphan"] + document_consequences


def _check_texts(name, text, forms, trees) -> list[Problem]:
    """A translation file belongs to a form or a process of the set, and translates only its texts."""
    stem = name[: -len(TEXTS_SUFFIX)]
    if stem in forms:
        from forms.i18n import FormTexts
        try:
            FormTexts.from_json(text, forms[stem])
        except FormDefinitionError as err:
            return [Problem.foreign(name, str(err), "translation", hint=N_("fix the translations of the form"))]
        return []
    if stem + ".bpmn" in trees:
        try:
            process_texts(text, trees[stem + ".bpmn"])
        except ValueError as err:
            hint = N_("translate task and lane names, per language")
            if isinstance(err, Complaint):
                return [Problem.of(name, err.template, "translation", hint=hint, hint_params={}, **err.params)]
            return [Problem.foreign(name, str(err), "translation", hint=hint)]
        return []
    return [Problem.of(name, N_("translations for '%(stem)s', which is neither a form nor a BPMN file of the set"),
                       "orphan", hint=N_("name it after a form key or a BPMN file (%(stem)s.form.json, "
                                         "%(stem)s.bpmn)"), stem=stem)]


def _check_documents(files, forms) -> tuple[list[Problem], list[Problem]]:
    """Document templates compile in the sandbox and use only what documents have; their translations translate
    only their texts (``engine/process/documents.py``). Returns the problems, and apart those that follow from
    another one (a template quoting a form the set lacks, translations of a missing template)."""
    problems, later, templates = [], [], {}
    for name in sorted(n for n in files if n.endswith(document_templates.TEMPLATE_SUFFIX)):
        stem = document_templates.document_name(name)
        template, findings = document_templates.parse_template(stem, files[name])
        if template is not None:
            findings = document_templates.check_fields(files[name], forms)
        for f in findings:
            (later if f.template == document_templates.NO_SUCH_FORM else problems).append(
                Problem.of(name, f.template, "document", line=f.line, hint=f.hint, **f.params))
        templates[stem] = template
    for name in sorted(n for n in files if n.endswith(document_templates.TEXTS_SUFFIX)):
        stem = name[: -len(document_templates.TEXTS_SUFFIX)]
        if stem not in templates:
            later.append(Problem.of(name, N_("translations for the document '%(stem)s', which the set does not "
                                                "have"), "orphan", hint=N_("name it after a document template "
                                                                           "(%(stem)s.document.html)"), stem=stem))
            continue
        try:
            document_templates.parse_texts(files[name], templates[stem])
        except Complaint as err:
            problems.append(Problem.of(name, err.template, "translation", hint=N_("translate the texts the template "
                                                                                  "gives to t(), per language"),
                                       hint_params={}, **err.params))
    return problems, later


def translatable_process_texts(root) -> set[str]:
    """Texts of a process that users read: the names of human tasks (task titles) and of lanes."""
    names = {(t.get("name") or "").strip() for t in _human_tasks(root)}
    names |= {(lane.get("name") or "").strip() for lane in root.iterfind(".//bpmn:lane", NS)}
    return {n for n in names if n}


def process_texts(text: str, root) -> dict[str, dict[str, str]]:
    """Parse and check ``<process>.i18n.json``: ``{language: {English name: translation}}``. Entries for names
    the process no longer has are ignored rather than refused: renaming a task in the modeler must not block
    publishing (the task shows its new English name until its translation is added)."""
    return language_tables(text, not_text_to_text=N_(
        "'%(language)s' must map each English name to its translation (text to text)"))


_BPMN_ROOT = "{http://www.omg.org/spec/BPMN/20100524/MODEL}definitions"


def _wrong_root(name, root) -> Problem | None:
    """A .bpmn file must be BPMN 2.0 and a .dmn file DMN (1.1 to 1.3): anything else is named as such."""
    tag = root.tag if isinstance(root.tag, str) else ""
    if name.endswith(".bpmn") and tag != _BPMN_ROOT:
        return Problem.of(name, N_("the file is not BPMN 2.0: its root element is %(root)s"), "xml",
                          line=root.sourceline, hint=N_("a BPMN file starts with <bpmn:definitions xmlns:bpmn="
                                                        "\"http://www.omg.org/spec/BPMN/20100524/MODEL\">"),
                          root=repr(_local(tag)))
    if name.endswith(".dmn") and not (tag.endswith("}definitions") and "omg.org/spec/DMN" in tag):
        return Problem.of(name, N_("the file is not DMN: its root element is %(root)s"), "xml",
                          line=root.sourceline, hint=N_("a DMN file starts with <definitions xmlns=\"https://www."
                                                        "omg.org/spec/DMN/20191111/MODEL/\">"),
                          root=repr(_local(tag)))
    return None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _parse_with_spiff(trees, process_id):
    parser = SpiffBpmnParser(validator=VALIDATOR)
    problems = []
    for name, root in trees.items():
        try:
            if name.endswith(".bpmn"):
                parser.add_bpmn_xml(root, filename=name)
            else:
                parser.add_dmn_xml(root, filename=name)
        except ValidationException as err:
            problems.append(_validation_problem(err, name))
        except Exception as err:  # noqa: BLE001 - the library trips over odd but well-formed files
            problems.append(Problem.of(name, N_("the file cannot be read as %(kind)s: %(error)s"), "schema",
                                       hint=N_("the file does not follow the BPMN/DMN schema"),
                                       kind="BPMN" if name.endswith(".bpmn") else "DMN",
                                       error=f"{type(err).__name__}: {err}"))
    if problems:
        return None, problems
    try:
        spec = parser.get_spec(process_id)
        subprocess_specs = parser.get_subprocess_specs(process_id)
    except ValidationException as err:
        return None, [_validation_problem(err, err.file_name or "(set)")]
    except SpiffWorkflowException as err:
        return None, [Problem.foreign("(set)", str(err), "bpmn")]
    except Exception as err:  # the library's own messages can fail on odd input (a process without an id)
        return None, [Problem.of("(set)", N_("the process '%(process)s' cannot be built: %(error)s"), "schema",
                                 hint=N_("check that every process has an id and the set has a process with the "
                                         "id '%(process)s'"), process=process_id,
                                 error=f"{type(err).__name__}: {err}")]
    return spec_to_json(spec, subprocess_specs), []


def _validation_problem(err, name):
    return Problem.foreign(err.file_name or name, str(err).rstrip(". "), "schema", element_id=err.id or None,
                           line=err.line_number or None, hint=N_("the file does not follow the BPMN/DMN schema"))


# --- lint ------------------------------------------------------------------------------------------------

def lint(trees: dict, forms: dict) -> list[Problem]:
    """Yordam's own rules, beyond the XML schema. Each problem names its file, element, line and a fix."""
    from . import lint_rules  # it builds on this module's helpers
    facts = lint_rules.SetFacts(trees, forms)
    problems = []
    for name, root in trees.items():
        if name.endswith(".bpmn"):
            problems += _lint_user_tasks(name, root, forms)
            problems += _lint_deadlines(name, root)
            problems += _lint_consents(name, root, forms)
            problems += _lint_scripts(name, root)
            problems += _lint_timers(name, root)
            problems += _lint_event_gateways(name, root)
            problems += _lint_extensions(name, root)
            problems += lint_rules.lint_flows(name, root, facts)
            problems += lint_rules.lint_condition_names(name, root, facts)
        else:
            problems += _lint_dmn(name, root)
            problems += lint_rules.lint_decision_tables(name, root)
            problems += lint_rules.lint_decision_names(name, root, facts)
    return problems


def _lanes(root) -> dict[str, str]:
    lanes = {}
    for lane in root.iterfind(".//bpmn:lane", NS):
        for ref in lane.iterfind("bpmn:flowNodeRef", NS):
            lanes[(ref.text or "").strip()] = lane.get("name")
    return lanes


def _properties(element) -> dict[str, str]:
    return {p.get("name"): p.get("value") for p in
            element.iterfind("bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", NS)}


def _human_tasks(root):
    for tag in _HUMAN_TASKS:
        yield from root.iterfind(f".//bpmn:{tag}", NS)


def _lint_user_tasks(name, root, forms):
    problems, lanes = [], _lanes(root)
    for task in _human_tasks(root):
        tid, line, props = task.get("id"), task.sourceline, _properties(task)
        lane = lanes.get(tid)
        if lane is None:
            problems.append(Problem.of(name, N_("user task '%(task)s' is in no lane"), "lane", tid, line,
                                       N_("put it in a lane named after a role: %(roles)s"), task=tid,
                                       roles=", ".join(ROLES)))
        elif lane not in ROLES:
            problems.append(Problem.of(name, N_("user task '%(task)s' is in lane '%(lane)s', which is not a role"),
                                       "lane", tid, line, N_("name the lane after a role: %(roles)s"), task=tid,
                                       lane=lane, roles=", ".join(ROLES)))
        form_key = props.get("formKey")
        if not form_key:
            problems.append(Problem.of(name, N_("user task '%(task)s' has no formKey property"), "form", tid, line,
                                       N_("add the property formKey naming a form of this set"), task=tid))
        elif form_key not in forms:
            problems.append(Problem.of(name, N_("user task '%(task)s' uses form '%(form)s', which the set does not "
                                                "have"), "form", tid, line,
                                       N_("add %(form)s.form.json or use one of: %(forms)s"), task=tid,
                                       form=form_key, forms=", ".join(sorted(forms))))
        if not props.get("stage"):
            problems.append(Problem.of(name, N_("user task '%(task)s' has no stage property"), "stage", tid, line,
                                       N_("add the property stage (identification, assessment, planning, ...)"),
                                       task=tid))
    return problems


def _lint_deadlines(name, root):
    """The deadline properties parse, their expressions compile, and rungs name roles (workflows/README.md §10)."""
    problems = []
    for task in _human_tasks(root):
        tid, line = task.get("id"), task.sourceline
        try:
            rule = parse_rule(_properties(task), roles=ESCALATION_ROLES)
        except RuleError as err:
            problems.append(Problem.of(name, N_("task '%(task)s', property %(property)s: %(error)s"), "deadline",
                                       tid, line, err.hint_template, hint_params=err.hint_params, task=tid,
                                       property=err.prop, error=_said(err)))
            continue
        if rule and rule.duration.expression:
            try:
                compile_expression(rule.duration.expression)
            except (ScriptCompileError, SyntaxError) as err:
                problems.append(Problem.of(name, N_("task '%(task)s', deadline expression: %(error)s"), "deadline",
                                           tid, line, N_("write a Python expression over the case data, e.g. "
                                                         "(monitoring_interval_days)"), task=tid, error=str(err)))
    return problems


#: A user task that may only be completed with a valid consent (workflows/README.md §10).
CONSENT_PROPERTY, CONSENT_AGENCY_PROPERTY = "requires_consent", "consent_agency_field"


def consent_rule(properties: dict) -> dict | None:
    """A user task's consent properties as ``{"purpose", "agency_field"}``, or None when it requires none.
    Raises ``ValueError`` saying what is wrong (lint reports it before a version can be published)."""
    purpose = (properties.get(CONSENT_PROPERTY) or "").strip()
    field_key = (properties.get(CONSENT_AGENCY_PROPERTY) or "").strip() or None
    if not purpose:
        if field_key:
            raise Complaint(N_("%(agency_property)s is given without %(consent_property)s"),
                            agency_property=CONSENT_AGENCY_PROPERTY, consent_property=CONSENT_PROPERTY)
        return None
    if purpose not in CONSENT_PURPOSES:
        raise Complaint(N_("%(consent_property)s is '%(purpose)s'; use one of: %(purposes)s"),
                        consent_property=CONSENT_PROPERTY, purpose=purpose, purposes=", ".join(CONSENT_PURPOSES))
    if field_key and purpose not in AGENCY_PURPOSES:
        raise Complaint(N_("a consent for %(purpose)s names no agency: remove %(agency_property)s"),
                        purpose=purpose, agency_property=CONSENT_AGENCY_PROPERTY)
    return {"purpose": purpose, "agency_field": field_key}


def _lint_consents(name, root, forms):
    """``requires_consent`` names a purpose; ``consent_agency_field`` is a field of the task's form."""
    problems = []
    for task in _human_tasks(root):
        tid, line, props = task.get("id"), task.sourceline, _properties(task)
        try:
            rule = consent_rule(props)
        except ValueError as err:
            problems.append(Problem.of(name, N_("task '%(task)s': %(error)s"), "consent", tid, line,
                                       N_('e.g. <spiffworkflow:property name="%(consent_property)s" '
                                          'value="referral" />'), task=tid, error=_said(err),
                                       consent_property=CONSENT_PROPERTY))
            continue
        form = forms.get(props.get("formKey") or "")
        if rule and rule["agency_field"] and form is not None and rule["agency_field"] not in form.field_keys():
            problems.append(Problem.of(name, N_("task '%(task)s': %(agency_property)s '%(field)s' is not a field of "
                                                "form '%(form)s'"), "consent", tid, line,
                                       N_("name a top-level field of the task's form that holds the agency"),
                                       task=tid, agency_property=CONSENT_AGENCY_PROPERTY,
                                       field=rule["agency_field"], form=props.get("formKey")))
    return problems


def _owner_id(element):
    while element is not None and element.get("id") is None:
        element = element.getparent()
    return element.get("id") if element is not None else None


_EMPTY = {"script": N_("empty script"), "condition": N_("empty condition")}
_NOT_COMPILING = {"script": N_("the script does not compile: %(error)s"),
                  "condition": N_("the condition does not compile: %(error)s")}


def _lint_scripts(name, root):
    problems = []
    sources = [(el, compile_script, "script") for el in root.iterfind(".//bpmn:scriptTask/bpmn:script", NS)]
    sources += [(el, compile_script, "script") for el in root.iterfind(".//spiffworkflow:preScript", NS)]
    sources += [(el, compile_script, "script") for el in root.iterfind(".//spiffworkflow:postScript", NS)]
    sources += [(el, compile_expression, "condition")
                for el in root.iterfind(".//bpmn:conditionExpression", NS)]
    for element, compiler, kind in sources:
        text = element.text or ""
        if not text.strip():
            problems.append(Problem.of(name, _EMPTY[kind], kind, _owner_id(element), element.sourceline))
            continue
        try:
            compiler(text)
        except (ScriptCompileError, SyntaxError) as err:
            problems.append(Problem.of(name, _NOT_COMPILING[kind], kind, _owner_id(element), element.sourceline,
                                       N_("scripts are restricted Python: no imports, no names starting with _"),
                                       error=str(err)))
    return problems


def _lint_timers(name, root):
    problems = []
    for tag in ("timeDuration", "timeDate", "timeCycle"):
        for element in root.iterfind(f".//bpmn:{tag}", NS):
            text = (element.text or "").strip()
            eid = _owner_id(element.getparent())
            if _UNQUOTED_TIMER.match(text):
                problems.append(Problem.of(name, N_("the timer expression %(text)s is not quoted"), "timer", eid,
                                           element.sourceline, N_('write it as a string: "%(text)s"'), text=text))
                continue
            try:
                compile_expression(text)
            except (ScriptCompileError, SyntaxError) as err:
                problems.append(Problem.of(name, N_("the timer expression does not compile: %(error)s"), "timer",
                                           eid, element.sourceline, error=str(err)))
    for definition in root.iterfind(".//bpmn:timerEventDefinition", NS):
        problem = _unsupported_timer(name, definition)
        if problem is not None:
            problems.append(problem)
    return problems


def _unsupported_timer(name, definition):
    """Timers as drawn that SpiffWorkflow 3.2 does not run as BPMN means them (checked by running them)."""
    event = definition.getparent()
    kind, eid, line = etree.QName(event).localname, event.get("id"), event.sourceline
    cycle = definition.find("bpmn:timeCycle", NS) is not None
    parent = event.getparent()
    in_event_subprocess = (etree.QName(parent).localname == "subProcess"
                           and parent.get("triggeredByEvent") == "true")
    if kind == "intermediateCatchEvent" and cycle:
        return Problem.of(name, N_("the intermediate timer '%(event)s' repeats (timeCycle): SpiffWorkflow 3.2 would "
                                   "send the flow on once more at every cycle"), "timer", eid, line,
                          N_("use timeDuration or timeDate; for a repeating reminder draw a non-interrupting "
                             "boundary timer or an event sub-process with a non-interrupting timer start event"),
                          event=eid)
    if kind == "startEvent" and cycle and not in_event_subprocess:
        return Problem.of(name, N_("the start event '%(event)s' repeats (timeCycle): SpiffWorkflow 3.2 would run the "
                                   "process again inside the same case at every cycle"), "timer", eid, line,
                          N_("delay the first step with timeDuration or timeDate, or put the recurring work in an "
                             "event sub-process with a non-interrupting timer start event"), event=eid)
    if kind == "startEvent" and in_event_subprocess and event.get("isInterrupting", "true") != "false":
        return Problem.of(name, N_("the timer start event '%(event)s' of event sub-process '%(subprocess)s' is "
                                   "interrupting: SpiffWorkflow 3.2 would run the sub-process beside the main flow "
                                   "without interrupting it"), "timer", eid, line,
                          N_('set isInterrupting="false", or draw an interrupting boundary timer on the activity'),
                          event=eid, subprocess=parent.get("id"))
    return None


def _lint_event_gateways(name, root):
    """SpiffWorkflow 3.2 gives every timer behind one event-based gateway the same due time (brief §0.9)."""
    problems = []
    targets = {f.get("id"): f.get("targetRef") for f in root.iterfind(".//bpmn:sequenceFlow", NS)}
    by_id = {el.get("id"): el for el in root.iter() if el.get("id")}
    for gateway in root.iterfind(".//bpmn:eventBasedGateway", NS):
        timers = 0
        for out in gateway.iterfind("bpmn:outgoing", NS):
            target = by_id.get(targets.get((out.text or "").strip()))
            if target is not None and target.find("bpmn:timerEventDefinition", NS) is not None:
                timers += 1
        if timers > 1:
            problems.append(Problem.of(name, N_("event-based gateway '%(gateway)s' waits on %(count)s timers"),
                                       "timer", gateway.get("id"), gateway.sourceline,
                                       N_("keep at most one timer after an event-based gateway"),
                                       gateway=gateway.get("id"), count=timers))
    return problems


#: Extension elements SpiffWorkflow or Yordam read; anything else in their namespace is a misspelling.
KNOWN_EXTENSIONS = {
    "properties", "property", "preScript", "postScript", "instructionsForEndUser", "calledDecisionId",
    "serviceTaskOperator", "parameters", "parameter", "retry", "messagePayload", "messageVariable",
    "payloadExpression", "variableName", "processVariableCorrelation", "unitTests", "unitTest", "inputJson",
    "expectedOutputJson", "taskMetadataValues", "taskMetadataValue", "category",
}


def _lint_extensions(name, root):
    problems = []
    for element in root.iter(f"{{{NS['spiffworkflow']}}}*"):
        local = etree.QName(element).localname
        if local not in KNOWN_EXTENSIONS:
            near = [k for k in KNOWN_EXTENSIONS if k.lower() == local.lower()]
            problems.append(Problem.of(name, N_("unknown extension element spiffworkflow:%(element)s"), "extension",
                                       _owner_id(element), element.sourceline,
                                       N_("did you mean spiffworkflow:%(near)s?") if near else
                                       N_("known elements: %(known)s"), element=local,
                                       near=near[0] if near else None, known=", ".join(sorted(KNOWN_EXTENSIONS))))
    return problems


def _lint_dmn(name, root):
    problems = []
    for table in root.iter("{*}decisionTable"):
        policy = table.get("hitPolicy", "UNIQUE")
        if policy not in ("UNIQUE", "COLLECT"):
            problems.append(Problem.of(name, N_("hit policy %(policy)s is not supported"), "dmn", _owner_id(table),
                                       table.sourceline, N_("use UNIQUE or COLLECT"), policy=policy))
    for cell in root.iter("{*}text"):
        if _DUNDER.search(cell.text or ""):
            problems.append(Problem.of(name, N_("the cell %(cell)s uses a name starting with _"), "dmn",
                                       _owner_id(cell), cell.sourceline, N_("names starting with _ are not allowed"),
                                       cell=repr(cell.text.strip())))
    return problems


# --- introspection used by services -------------------------------------------------------------------------

def _user_tasks(bpmn_roots) -> dict[str, UserTaskInfo]:
    tasks = {}
    for root in bpmn_roots.values():
        lanes = _lanes(root)
        for task in _human_tasks(root):
            props = _properties(task)
            tid = task.get("id")
            tasks[tid] = UserTaskInfo(tid, task.get("name") or tid, lanes.get(tid), props.get("formKey"),
                                      props.get("stage"), props)
    return tasks


def _stage_order(bpmn_roots, process_id) -> list[str]:
    """Stages in the order a case meets them: a topological order of the flow graph (loops back ignored), so a
    stage reached by a shortcut (not in need → closure) still comes after the stages on the main path to it."""
    for root in bpmn_roots.values():
        process = root.find(f".//bpmn:process[@id='{process_id}']", NS)
        if process is None:
            continue
        nodes = {el.get("id"): el for el in process.iter() if el.get("id")}
        flows = {}
        for flow in process.iterfind(".//bpmn:sequenceFlow", NS):
            flows.setdefault(flow.get("sourceRef"), []).append(flow.get("targetRef"))
        for boundary in process.iterfind(".//bpmn:boundaryEvent", NS):
            flows.setdefault(boundary.get("attachedToRef"), []).append(boundary.get("id"))
        order = []
        for start in process.iterfind("bpmn:startEvent", NS):
            order += _reverse_postorder(start.get("id"), flows, set(order))
        stages = []
        for node_id in order:
            stage = _properties(nodes[node_id]).get("stage") if node_id in nodes else None
            if stage and stage not in stages:
                stages.append(stage)
        return stages
    return []


def _reverse_postorder(start, flows, seen) -> list[str]:
    postorder, stack = [], [(start, iter(flows.get(start, ())))]
    seen.add(start)
    while stack:
        node, children = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            postorder.append(node)
        elif child not in seen:
            seen.add(child)
            stack.append((child, iter(flows.get(child, ()))))
    return postorder[::-1]
