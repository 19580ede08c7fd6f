"""Document templates of a definition set: ``<name>.document.html`` (Jinja2) with ``<name>.document.i18n.json``.

Methodologists write the individual service plan, the assessment act, the referral letter and the closure summary
as HTML templates, edited and published with the process (workflows/README.md, "Documents"). A template is
written in English; ``t("Text")`` gives a text in the reader's language from the sibling translations file, which
maps each English text to its translation per language, as a form's ``.i18n.json`` does.

A template is rendered in Jinja2's immutable sandbox with autoescaping: what a methodologist writes cannot reach
Python's internals, and answers typed by users cannot inject HTML. The checks run on every save and before
publishing (``check_template``): a template that does not compile, names a variable the documents do not have, a
form or field the set does not have, a name starting with ``_``, or includes other files is a problem of the set,
never an error while a social worker prints.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache

from jinja2 import ChainableUndefined, TemplateSyntaxError, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from ..i18n import N_, Complaint
from .texts import TEXT_LANGUAGES, language_tables  # noqa: F401  (TEXT_LANGUAGES: for readers of templates)

TEMPLATE_SUFFIX = ".document.html"
TEXTS_SUFFIX = ".document.i18n.json"
NAME = re.compile(r"^[a-z][a-z0-9_]{0,59}$")

#: What every document can use, with the attributes of each (``answers`` and ``raw``: by form key and field).
VARIABLES = {
    "issued": ("date", "by", "by_role", "language"),
    "org": ("region", "district", "mahalla"),
    "case": ("number", "opened_on", "closed_on", "status", "stage", "risk_level", "categories", "channel",
             "summary", "worker"),
    "subject": ("kind", "name", "birth_date", "sex", "members", "address"),
    "answers": None,
    "raw": None,
    "t": None,
}
#: Names Jinja itself gives inside a loop or a macro.
JINJA_NAMES = frozenset({"loop", "caller", "varargs", "kwargs"})
MAX_REPEAT = 10_000  # "x" * n and [..] * n in a template: n at most this
MAX_POWER = 64


class _Sandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, with ``*`` and ``**`` kept small (a template cannot make a gigabyte string)."""

    intercepted_binops = frozenset(["*", "**"])

    def call_binop(self, context, operator, left, right):
        if operator == "*":
            for seq, count in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and isinstance(count, int) and count > MAX_REPEAT:
                    raise SecurityError("the repetition is too large")
        if operator == "**" and isinstance(right, (int, float)) and abs(right) > MAX_POWER:
            raise SecurityError("the power is too large")
        return super().call_binop(context, operator, left, right)


def environment() -> ImmutableSandboxedEnvironment:
    env = _Sandbox(autoescape=True, undefined=ChainableUndefined, trim_blocks=True, lstrip_blocks=True)
    env.globals.clear()  # no range(), dict(), lipsum(), cycler() ...: only what the documents give
    return env


_ENV = environment()


def document_name(file_name: str) -> str | None:
    """``service_plan.document.html`` → ``service_plan``; None for another file."""
    if file_name.endswith(TEMPLATE_SUFFIX):
        return file_name[: -len(TEMPLATE_SUFFIX)]
    return None


@dataclass(frozen=True)
class Finding:
    """A problem of a template: a catalogue template (``N_``) with its params, and the line."""
    template: str
    params: dict
    line: int | None = None
    hint: str | None = None


@dataclass(frozen=True)
class Template:
    name: str
    source: str
    texts: tuple[str, ...]  # the English texts given to t(), in order; the first is the document's title

    @property
    def title(self) -> str:
        return self.texts[0] if self.texts else self.name.replace("_", " ").capitalize()


def parse_template(name: str, source: str) -> tuple[Template | None, list[Finding]]:
    """The template and what is wrong with it, without knowing the set (see ``check_fields`` for that)."""
    findings = []
    if not NAME.match(name):
        findings.append(Finding(N_("the document name '%(name)s' is not valid"), {"name": name},
                                hint=N_("use lower-case letters, digits and _ (e.g. service_plan.document.html)")))
        return None, findings
    try:
        tree = _ENV.parse(source)
    except TemplateSyntaxError as err:
        return None, [Finding(N_("the template does not compile: %(error)s"), {"error": err.message or str(err)},
                              err.lineno, N_("check the {{ }} and {%% %%} tags: every {%% if %%} and {%% for %%} "
                                             "needs its {%% endif %%} or {%% endfor %%}"))]
    texts = []
    assigned = {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")}
    for node in tree.find_all((nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport)):
        findings.append(Finding(N_("a document template cannot use other files (extends, include, import)"), {},
                                node.lineno, N_("write the whole document in this file")))
    for node in tree.find_all(nodes.Name):
        if node.ctx == "load" and node.name not in VARIABLES and node.name not in assigned | JINJA_NAMES:
            findings.append(Finding(N_("unknown variable '%(name)s'"), {"name": node.name}, node.lineno,
                                    N_("documents know: %(known)s"), ))
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        attr = node.attr if isinstance(node, nodes.Getattr) else (
            node.arg.value if isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str) else None)
        if attr is not None and attr.startswith("_"):
            findings.append(Finding(N_("the template uses the name '%(name)s', which starts with _"), {"name": attr},
                                    node.lineno, N_("names starting with _ are not allowed")))
            continue
        base = node.node
        if attr is not None and isinstance(base, nodes.Name) and VARIABLES.get(base.name) and \
                base.name not in assigned and attr not in VARIABLES[base.name]:
            findings.append(Finding(N_("'%(name)s' has no '%(attribute)s'"), {"name": base.name, "attribute": attr},
                                    node.lineno, N_("'%(name)s' has: %(known)s")))
    for node in tree.find_all(nodes.Call):
        if isinstance(node.node, nodes.Name) and node.node.name == "t":
            first = node.args[0] if node.args else None
            if not isinstance(first, nodes.Const) or not isinstance(first.value, str) or not first.value.strip():
                findings.append(Finding(N_("t() takes a text in quotes, e.g. t(\"Goals\")"), {}, node.lineno,
                                        N_("write the English text in quotes; its translations go in the "
                                           ".document.i18n.json file beside the template")))
            elif first.value not in texts:
                texts.append(first.value)
    for finding in findings:  # fill the hints' lists (kept as params: the problem is told again in any language)
        if finding.hint == N_("documents know: %(known)s"):
            finding.params["known"] = ", ".join(VARIABLES)
        elif finding.hint == N_("'%(name)s' has: %(known)s"):
            finding.params["known"] = ", ".join(VARIABLES[finding.params["name"]])
    return (None if findings else Template(name, source, tuple(texts))), findings


NO_SUCH_FORM = N_("'%(name)s.%(form)s': the set has no form '%(form)s'")


def check_fields(source: str, forms: dict) -> list[Finding]:
    """``answers.<form>.<field>`` and ``raw.<form>.<field>`` name forms and fields of the set."""
    try:
        tree = _ENV.parse(source)
    except TemplateSyntaxError:
        return []
    findings = []
    for node in tree.find_all(nodes.Getattr):
        inner = node.node
        if isinstance(inner, nodes.Name) and inner.name in ("answers", "raw") and node.attr not in forms:
            findings.append(Finding(NO_SUCH_FORM,
                                    {"name": inner.name, "form": node.attr}, node.lineno,
                                    N_("forms of the set: %(known)s"), ))
            findings[-1].params["known"] = ", ".join(sorted(forms))
        elif isinstance(inner, nodes.Getattr) and isinstance(inner.node, nodes.Name) and \
                inner.node.name in ("answers", "raw") and inner.attr in forms and \
                node.attr not in forms[inner.attr].field_keys():
            findings.append(Finding(N_("form '%(form)s' has no field '%(field)s'"),
                                    {"form": inner.attr, "field": node.attr}, node.lineno,
                                    N_("its fields: %(known)s")))
            findings[-1].params["known"] = ", ".join(sorted(forms[inner.attr].field_keys()))
    return findings


def parse_texts(text: str, template: Template | None) -> dict[str, dict[str, str]]:
    """Parse and check ``<name>.document.i18n.json``: ``{language: {English text: translation}}``; every text must
    be one the template gives to t() (when the template reads). Raises ``Complaint``."""
    data = language_tables(text, not_text_to_text=N_(
        "'%(language)s' must map each English text to its translation (text to text)"))
    for language, table in data.items():
        stray = [k for k in table if template is not None and k not in template.texts]
        if stray:
            raise Complaint(N_("'%(language)s' translates texts the template does not use: %(texts)s"),
                            language=language, texts=", ".join(json.dumps(s, ensure_ascii=False) for s in stray[:5]))
    return data


def render(template: Template, context: dict, texts: dict[str, dict[str, str]], language: str) -> str:
    """The template's HTML for ``context``, its texts in ``language``. Raises ``RenderFailed`` when the template
    fails on this data (a division by zero, a sandbox refusal): the caller turns it into a clear error."""
    table = texts.get(language, {})

    def t(text, **params):
        shown = table.get(text) or text
        if params:
            try:
                shown = shown % params
            except (KeyError, TypeError, ValueError):
                shown = text % params if _fits(text, params) else shown
        return shown

    try:
        html = _compiled(template.source).render({**context, "t": t})
    except SecurityError as err:
        raise RenderFailed(N_("the template tried something documents may not do: %(error)s"), error=str(err))
    except Exception as err:  # noqa: BLE001 -- a methodologist's template on real data: any failure is theirs
        raise RenderFailed(N_("the template fails on this case's data: %(error)s"),
                           error=f"{type(err).__name__}: {err}")
    return html


@lru_cache(maxsize=64)
def _compiled(source: str):
    """The template compiled once per text: every document printed from a published version reuses it."""
    return _ENV.from_string(source)


def _fits(text, params) -> bool:
    try:
        text % params
    except (KeyError, TypeError, ValueError):
        return False
    return True


class RenderFailed(Complaint):
    """A template failed while rendering (told by a catalogue template)."""
