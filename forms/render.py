"""Server-side HTML for a form: works without JavaScript, accessible, in the user's language.

:func:`render_form` returns the *fields* of a form as :class:`markupsafe.Markup`;
the page supplies ``<form method="post">``, the CSRF token and its own submit
buttons.  The names of the inputs follow :func:`forms.formdata.field_name`, so
:func:`forms.formdata.parse_submission` reads the POST back.

What the HTML does:

* every input has a ``<label for>``; radios and checklists are a ``<fieldset>``
  whose ``<legend>`` is the label, each option with its own label;
* a required field says so in words ("(required)", translated) and carries
  ``required`` and ``aria-required="true"``;
* a description is linked with ``aria-describedby``; an error is a
  ``<p class="field-error">`` right after the label (and description), the input
  gets ``aria-invalid="true"`` and is described by it too; an error summary with
  links to the fields opens the form;
* ``maxlength``/``minlength``, ``min``/``max``/``step`` are HTML attributes;
* a dynamiclist shows its items (at least ``defaultRepetitions`` empty ones when
  the data has no list) and, with ``allowAddRemove``, an "Add" button
  (``name="_add" value="<list name>"``) and a "Remove" button per item
  (``name="_remove" value="<item name>"``).  They are submit buttons with
  ``formnovalidate``: the server adds or removes the item and renders again.

``conditional`` (form-js "hide if" FEEL expressions) is not evaluated on the
server: the field is always rendered, and the expression is put on its wrapper
as ``data-conditional-hide`` for a script to use.  (The definition parser
already refuses a required field that can be hidden.)

Every text a person reads goes through ``translate`` (text → text): labels,
descriptions, option labels, text components and the package's own words of
:mod:`forms.messages` (``RENDER_*``).  Error messages are shown as given: they
arrive translated.  Everything is escaped.

Page authors: put the form's main submit button *before* the fields or give the
form a visually hidden default button first, otherwise pressing Enter in a text
field activates the first "Remove"/"Add" button (the browser's implicit
submission uses the first submit button).  Give a "Save draft" button
``formnovalidate`` so that required fields do not stop a draft.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from markupsafe import Markup, escape

from . import messages as M
from .definition import FormDefinition
from .formdata import ADD, REMOVE, allows_add_remove, field_name, parse_index
from .model import DEFAULT_MAX_LENGTH, MAX_YEAR, MIN_YEAR, STATIC_TYPES, Field
from .validation import format_number

Translate = Callable[[str], str]

ID_PREFIX = "field-"
_HTML_LANG = {"uz": "uz-Latn"}


def field_id(name: str) -> str:
    """The HTML id of the input named ``name`` (``--`` never occurs in a name)."""
    return ID_PREFIX + name


def _identity(text: str) -> str:
    return text


def render_form(
    form: FormDefinition,
    values: Mapping[str, Any] | None,
    errors: Mapping[Any, Any] | None,
    *,
    translate: Translate | None = None,
    language: str = "en",
) -> Markup:
    """The HTML of the form's fields with ``values`` filled in and ``errors`` shown.

    ``values`` is the form data (as :func:`~forms.formdata.parse_submission` returns
    it, or a saved draft, or ``{}``: fields without a value show their
    ``defaultValue``).  ``errors`` is ``FormValidationError.errors`` (item indices
    as ints or strings), messages already in the user's language.  ``translate``
    puts the form's texts and the package's words into the user's language;
    ``language`` is written as the ``lang`` of the wrapper.
    """
    renderer = _Renderer(translate or _identity)
    body = renderer.level(
        form.raw.get("components") or [],
        form.fields,
        values if isinstance(values, Mapping) else {},
        errors if isinstance(errors, Mapping) else {},
        (),
    )
    lang = _HTML_LANG.get(language, language)
    return Markup(
        f'<div class="yordam-form"{_attrs({"lang": lang})}>{renderer.summary_html()}{body}</div>'
    )


# --------------------------------------------------------------------------
# Small pieces
# --------------------------------------------------------------------------


def _attrs(attributes: Mapping[str, Any]) -> str:
    """`` name="value"`` pairs; True is a bare attribute, None and False are left out."""
    parts = []
    for name, value in attributes.items():
        if value is None or value is False:
            continue
        if value is True:
            parts.append(f" {name}")
        else:
            parts.append(f' {name}="{escape(value)}"')
    return "".join(parts)


def _messages(error: Any) -> list[str]:
    """Every message in an error entry (a list, a string, or nested dicts)."""
    if error is None:
        return []
    if isinstance(error, str):
        return [error]
    if isinstance(error, Mapping):
        return [message for value in error.values() for message in _messages(value)]
    if isinstance(error, (list, tuple)):
        return [message for value in error for message in _messages(value)]
    return [str(error)]


def _lookup(mapping: Mapping[Any, Any], key: Any) -> Any:
    """``mapping[key]``, trying an int index also as a string (errors that went through JSON)."""
    if key in mapping:
        return mapping[key]
    if isinstance(key, int) and str(key) in mapping:
        return mapping[str(key)]
    return None


def _is_expression(text: str) -> bool:
    return text.strip().startswith("=")


def _text_value(value: Any) -> str:
    if value is None or isinstance(value, (list, dict)):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return format_number(value)
    return str(value)


def _number_value(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, (int, float)):
        return format_number(value)
    return value if isinstance(value, str) else ""


# Markdown-ish text components: paragraphs, "#" headings, "-"/"1." lists, **bold**, *italic*.
_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_HEADING = re.compile(r"(#{1,6})[ \t]+(.*)")
_BULLET = re.compile(r"[ \t]*[-*+][ \t]+(.*)")
_NUMBERED = re.compile(r"[ \t]*[0-9]{1,9}[.)][ \t]+(.*)")
_STRONG = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*|__(?=\S)(.+?)(?<=\S)__")
_EMPHASIS = re.compile(r"(?<![*\w])\*(?=\S)(.+?)(?<=\S)\*(?![*\w])|(?<![_\w])_(?=\S)(.+?)(?<=\S)_(?![_\w])")


def _inline(text: str) -> str:
    html = str(escape(text))
    html = _STRONG.sub(lambda m: f"<strong>{m.group(1) or m.group(2)}</strong>", html)
    return _EMPHASIS.sub(lambda m: f"<em>{m.group(1) or m.group(2)}</em>", html)


def text_to_html(text: str) -> str:
    """A form-js text component's markdown, reduced to a safe subset and escaped.

    Paragraphs (blank lines), line breaks, ``#`` headings (``#`` is ``<h3>``: the page
    has its own ``<h1>``/``<h2>``), ``-``/``*`` and ``1.`` lists, ``**bold**`` and
    ``*italic*``.  Links, images and HTML are shown as text.
    """
    blocks = _BLANK_LINE.split(text.replace("\r\n", "\n").replace("\r", "\n").strip())
    out = []
    for block in blocks:
        lines = [line for line in block.split("\n") if line.strip()]
        if not lines:
            continue
        heading = _HEADING.fullmatch(lines[0].strip())
        if len(lines) == 1 and heading:
            level = min(len(heading.group(1)) + 2, 6)
            out.append(f"<h{level}>{_inline(heading.group(2).strip())}</h{level}>")
        elif all(_BULLET.fullmatch(line) for line in lines):
            items = "".join(f"<li>{_inline(_BULLET.fullmatch(line).group(1))}</li>" for line in lines)
            out.append(f"<ul>{items}</ul>")
        elif all(_NUMBERED.fullmatch(line) for line in lines):
            items = "".join(f"<li>{_inline(_NUMBERED.fullmatch(line).group(1))}</li>" for line in lines)
            out.append(f"<ol>{items}</ol>")
        else:
            out.append("<p>" + "<br>".join(_inline(line.strip()) for line in lines) + "</p>")
    return "".join(out)


# --------------------------------------------------------------------------
# The renderer
# --------------------------------------------------------------------------


class _Renderer:
    def __init__(self, translate: Translate):
        self.t = translate
        self.summary: list[tuple[str | None, str, str]] = []  # (anchor id, what, message)
        self.context: list[str] = []  # enclosing groups and items, for the summary

    def note(self, anchor: str | None, what: str, message: str) -> None:
        """Add an entry to the error summary; ``what`` is prefixed with where it is."""
        self.summary.append((anchor, " › ".join([*self.context, what]) if what else what, message))

    # -- words ---------------------------------------------------------------------

    def word(self, template: str, **values: Any) -> str:
        """One of the package's own words, translated, placeholders filled in."""
        try:
            return self.t(template).format(**values)
        except (KeyError, IndexError, ValueError, AttributeError):
            return template.format(**values)

    def label(self, spec: Field, component: Mapping[str, Any]) -> str:
        text = spec.label
        if spec.type == "datetime" and isinstance(component.get("dateLabel"), str):
            text = component["dateLabel"] or text
        if text.strip() and not _is_expression(text):
            return self.t(text)
        return spec.key

    def description(self, component: Mapping[str, Any]) -> str | None:
        text = component.get("description")
        if isinstance(text, str) and text.strip() and not _is_expression(text):
            return self.t(text)
        return None

    def required_mark(self, required: bool) -> str:
        if not required:
            return ""
        return f' <span class="field-required">{escape(self.word(M.RENDER_REQUIRED))}</span>'

    # -- error summary ------------------------------------------------------------

    def summary_html(self) -> str:
        if not self.summary:
            return ""
        items = []
        for anchor, what, message in self.summary:
            text = escape(f"{what}: {message}" if what else message)
            items.append(f'<li><a href="#{escape(anchor)}">{text}</a></li>' if anchor else f"<li>{text}</li>")
        return (
            '<div class="error-summary" id="form-error-summary" tabindex="-1">'
            f'<p class="error-summary-title">{escape(self.word(M.RENDER_ERROR_SUMMARY))}</p>'
            f'<ul>{"".join(items)}</ul></div>'
        )

    def error_html(self, fid: str, messages: list[str]) -> str:
        if not messages:
            return ""
        return f'<p class="field-error" id="{escape(fid)}--error">{escape(" ".join(messages))}</p>'

    # -- levels of data ---------------------------------------------------------------

    def level(
        self,
        components: list[Any],
        fields: list[Field],
        values: Mapping[str, Any],
        errors: Mapping[Any, Any],
        parts: tuple[Any, ...],
    ) -> str:
        """One level of data (the form, a pathed group, a list item): its components,
        and first the errors for names the level does not have (unknown fields)."""
        known = {spec.key for spec in fields}
        stray = []
        for key, error in errors.items():
            if str(key) in known:
                continue
            name = field_name(*parts, key) if key != "_schema" else None
            for message in _messages(error):
                self.summary.append((None, name or " › ".join(self.context), message))
                stray.append(f"{name}: {message}" if name else message)
        html = ""
        if stray and parts:  # the form's own are in the error summary right above
            html = '<div class="form-errors">' + "".join(
                f'<p class="field-error">{escape(message)}</p>' for message in stray
            ) + "</div>"
        by_key = {spec.key: spec for spec in fields}
        return html + self.components(components, by_key, values, errors, parts)

    def components(
        self,
        components: list[Any],
        by_key: Mapping[str, Field],
        values: Mapping[str, Any],
        errors: Mapping[Any, Any],
        parts: tuple[Any, ...],
    ) -> str:
        out = []
        for component in components:
            ctype = component.get("type")
            if ctype in STATIC_TYPES:
                out.append(self.static(component))
                continue
            if ctype == "group" and not component.get("path"):
                inner = self.components(component.get("components") or [], by_key, values, errors, parts)
                out.append(self.fieldset_group(component, inner))
                continue
            key = component.get("path") if ctype in ("group", "dynamiclist") else component.get("key")
            spec = by_key.get(key)
            if spec is None:  # cannot happen for a parsed definition
                continue
            value = values[key] if key in values else (spec.default if spec.has_default else None)
            error = _lookup(errors, key)
            if spec.type == "group":
                html = self.group(spec, component, value, error, parts)
            elif spec.type == "dynamiclist":
                html = self.dynamiclist(spec, component, value, error, parts)
            else:
                html = self.input(spec, component, value, error, parts)
            out.append(html)
        return "".join(out)

    # -- static components and groups ------------------------------------------------

    def static(self, component: Mapping[str, Any]) -> str:
        ctype = component["type"]
        if ctype == "separator":
            return '<hr class="form-separator">'
        if ctype == "spacer":
            return '<div class="form-spacer" aria-hidden="true"></div>'
        text = component.get("text")
        if not isinstance(text, str) or not text.strip() or _is_expression(text):
            return ""  # FEEL expressions are not evaluated on the server
        return f'<div class="form-text">{text_to_html(self.t(text))}</div>'

    def conditional(self, component: Mapping[str, Any]) -> dict[str, Any]:
        conditional = component.get("conditional")
        hide = conditional.get("hide") if isinstance(conditional, Mapping) else None
        return {"data-conditional-hide": hide if isinstance(hide, str) and hide else None}

    def fieldset_group(self, component: Mapping[str, Any], inner: str) -> str:
        label = component.get("label")
        attrs = _attrs(self.conditional(component))
        if isinstance(label, str) and label.strip() and not _is_expression(label):
            return (
                f'<fieldset class="field-group"{attrs}><legend>{escape(self.t(label))}</legend>'
                f"{inner}</fieldset>"
            )
        return f'<div class="field-group"{attrs}>{inner}</div>'

    def group(self, spec: Field, component: Mapping[str, Any], value: Any, error: Any, parts: tuple) -> str:
        name = field_name(*parts, spec.key)
        fid = field_id(name)
        own: list[str] = []
        children: Mapping[Any, Any] = {}
        if isinstance(error, Mapping):
            children = {key: sub for key, sub in error.items() if key != "_schema"}
            own = _messages(error.get("_schema"))
        else:
            own = _messages(error)
        for message in own:
            self.note(fid, self.label(spec, component), message)
        self.context.append(self.label(spec, component))
        inner = self.level(
            component.get("components") or [],
            spec.children,
            value if isinstance(value, Mapping) else {},
            children,
            (*parts, spec.key),
        )
        self.context.pop()
        label = spec.label
        legend = ""
        if label.strip() and not _is_expression(label):
            legend = f"<legend>{escape(self.t(label))}</legend>"
        described = f' aria-describedby="{escape(fid)}--error"' if own else ""
        return (
            f'<fieldset class="field-group" id="{escape(fid)}"{described}'
            f"{_attrs(self.conditional(component))}>{legend}{self.error_html(fid, own)}{inner}</fieldset>"
        )

    # -- dynamiclist ----------------------------------------------------------------------

    def dynamiclist(self, spec: Field, component: Mapping[str, Any], value: Any, error: Any, parts: tuple) -> str:
        name = field_name(*parts, spec.key)
        fid = field_id(name)
        label = self.label(spec, component)
        own: list[str] = []
        item_errors: Mapping[Any, Any] = {}
        if isinstance(error, Mapping):
            item_errors = error
        else:
            own = _messages(error)
        for message in own:
            self.note(fid, label, message)
        if isinstance(value, list):
            items = [item if isinstance(item, Mapping) else {} for item in value]
        else:
            repetitions = component.get("defaultRepetitions", 1)
            if not isinstance(repetitions, int) or isinstance(repetitions, bool):
                repetitions = 1
            items = [{} for _ in range(max(0, min(repetitions, spec.max_items or 1)))]
        can_change = allows_add_remove(spec)
        description = self.description(component)
        described = " ".join(
            ident for ident, present in ((f"{fid}--desc", description), (f"{fid}--error", own)) if present
        )
        out = [
            f'<fieldset class="field field-dynamiclist{" has-error" if own else ""}"'
            f'{_attrs({"id": fid, "aria-describedby": described or None, **self.conditional(component)})}>'
            f"<legend>{escape(label)}{self.required_mark(spec.required)}</legend>"
        ]
        if description:
            out.append(f'<p class="field-description" id="{escape(fid)}--desc">{escape(description)}</p>')
        out.append(self.error_html(fid, own))
        for index, item in enumerate(items):
            item_name = field_name(*parts, spec.key, index)
            item_id = field_id(item_name)
            number = index + 1
            self.context.extend((label, self.word(M.RENDER_ITEM, number=number)))
            inner = self.level(
                component.get("components") or [],
                spec.children,
                item,
                self.item_errors(item_errors, index),
                (*parts, spec.key, index),
            )
            del self.context[-2:]
            remove = ""
            if can_change:
                button = {
                    "type": "submit",
                    "class": "list-remove",
                    "name": REMOVE,
                    "value": item_name,
                    "formnovalidate": True,
                    "aria-label": self.word(M.RENDER_REMOVE_ITEM, number=number),
                }
                remove = f"<button{_attrs(button)}>{escape(self.word(M.RENDER_REMOVE))}</button>"
            out.append(
                f'<fieldset class="list-item" id="{escape(item_id)}">'
                f"<legend>{escape(self.word(M.RENDER_ITEM, number=number))}</legend>"
                f'<input type="hidden" name="{escape(item_name)}" value="">{inner}{remove}</fieldset>'
            )
        for key, stray in item_errors.items():  # errors of items not shown (should not happen)
            index = key if isinstance(key, int) else parse_index(str(key))
            if index is None or not 0 <= index < len(items):
                for message in _messages(stray):
                    self.note(None, field_name(*parts, spec.key, key), message)
        if not items:
            out.append(f'<p class="list-empty">{escape(self.word(M.RENDER_NO_ITEMS))}</p>')
        if can_change and len(items) < (spec.max_items or 0):
            button = {"type": "submit", "class": "list-add", "name": ADD, "value": name, "formnovalidate": True}
            out.append(f"<button{_attrs(button)}>{escape(self.word(M.RENDER_ADD))}</button>")
        out.append("</fieldset>")
        return "".join(out)

    @staticmethod
    def item_errors(errors: Mapping[Any, Any], index: int) -> Mapping[Any, Any]:
        """The errors of one item; a message about the item as a whole is kept under "_schema"."""
        error = _lookup(errors, index)
        if error is None:
            return {}
        if isinstance(error, Mapping):
            return error
        return {"_schema": _messages(error)}

    # -- inputs ----------------------------------------------------------------------------

    def input(self, spec: Field, component: Mapping[str, Any], value: Any, error: Any, parts: tuple) -> str:
        name = field_name(*parts, spec.key)
        fid = field_id(name)
        label = self.label(spec, component)
        messages = _messages(error)
        description = self.description(component)
        described = " ".join(
            ident for ident, present in ((f"{fid}--desc", description), (f"{fid}--error", messages)) if present
        )
        common: dict[str, Any] = {
            "name": name,
            "required": spec.required,
            "aria-required": "true" if spec.required else None,
            "aria-invalid": "true" if messages else None,
            "aria-describedby": described or None,
        }
        desc_html = (
            f'<p class="field-description" id="{escape(fid)}--desc">{escape(description)}</p>'
            if description
            else ""
        )
        error_html = self.error_html(fid, messages)
        css = f'field field-{spec.type}{" has-error" if messages else ""}'
        wrapper = _attrs({"class": css, **self.conditional(component)})
        mark = self.required_mark(spec.required)
        if spec.type in ("radio", "checklist"):
            options = []
            chosen = value if isinstance(value, list) else [value]
            for number, option in enumerate(spec.options or []):
                oid = f"{fid}-{number}"
                option_label = (spec.option_labels or {}).get(option, option)
                option_label = self.t(option_label) if option_label.strip() else option
                attrs = {
                    "type": "radio" if spec.type == "radio" else "checkbox",
                    "id": oid,
                    **common,
                    "value": option,
                    "checked": option in chosen,
                }
                # aria-required belongs to the radiogroup, not to a radio; "required" on a
                # checklist's box would demand every box (the legend says it in words).
                attrs["aria-required"] = None
                if spec.type == "checklist":
                    attrs["required"] = False
                options.append(
                    f'<div class="field-option"><input{_attrs(attrs)}>'
                    f'<label for="{escape(oid)}">{escape(option_label)}</label></div>'
                )
            for message in messages:
                self.note(f"{fid}-0", label, message)
            group_attrs = {"id": fid}
            if spec.type == "radio":
                group_attrs.update(role="radiogroup", **{"aria-required": "true" if spec.required else None})
            return (
                f'<fieldset{wrapper}{_attrs(group_attrs)}><legend>{escape(label)}{mark}</legend>'
                f'{desc_html}{error_html}{"".join(options)}</fieldset>'
            )
        for message in messages:
            self.note(fid, label, message)
        label_html = f'<label for="{escape(fid)}">{escape(label)}{mark}</label>'
        if spec.type == "checkbox":
            attrs = {"type": "checkbox", "id": fid, **common, "value": "true", "checked": value is True}
            return f"<div{wrapper}><input{_attrs(attrs)}>{label_html}{desc_html}{error_html}</div>"
        if spec.type == "textarea":
            attrs = {
                "id": fid,
                **common,
                "rows": 4,
                "maxlength": spec.max_length or DEFAULT_MAX_LENGTH["textarea"],
                "minlength": spec.min_length,
            }
            # The newline after the opening tag is dropped by HTML parsers, so a value's own
            # leading newline survives.
            control = f"<textarea{_attrs(attrs)}>\n{escape(_text_value(value))}</textarea>"
        elif spec.type == "select":
            choices = [f'<option value="">{escape(self.word(M.RENDER_CHOOSE))}</option>']
            for option in spec.options or []:
                option_label = (spec.option_labels or {}).get(option, option)
                option_label = self.t(option_label) if option_label.strip() else option
                choices.append(
                    f'<option{_attrs({"value": option, "selected": value == option})}>'
                    f"{escape(option_label)}</option>"
                )
            control = f'<select{_attrs({"id": fid, **common})}>{"".join(choices)}</select>'
        elif spec.type == "number":
            attrs = {
                "type": "number",
                "id": fid,
                **common,
                "value": _number_value(value),
                "min": format_number(spec.minimum) if spec.minimum is not None else None,
                "max": format_number(spec.maximum) if spec.maximum is not None else None,
                "step": _step(spec),
                "inputmode": "numeric" if spec.decimal_digits == 0 else "decimal",
            }
            control = f"<input{_attrs(attrs)}>"
        elif spec.type == "datetime":
            attrs = {
                "type": "date",
                "id": fid,
                **common,
                "value": _text_value(value),
                "min": f"{MIN_YEAR}-01-01",
                "max": f"{MAX_YEAR}-12-31",
                "pattern": "[0-9]{4}-[0-9]{2}-[0-9]{2}",  # used where type="date" falls back to text
            }
            control = f"<input{_attrs(attrs)}>"
        else:  # textfield
            attrs = {
                "type": "email" if spec.email else "text",
                "id": fid,
                **common,
                "value": _text_value(value),
                "maxlength": spec.max_length or DEFAULT_MAX_LENGTH["textfield"],
                "minlength": spec.min_length,
            }
            control = f"<input{_attrs(attrs)}>"
        return f"<div{wrapper}>{label_html}{desc_html}{error_html}{control}</div>"


def _step(spec: Field) -> str:
    if spec.increment is not None:
        return format_number(spec.increment)
    if spec.decimal_digits is not None:
        return format_number(Decimal(1).scaleb(-spec.decimal_digits))
    return "any"


__all__ = ["field_id", "render_form", "text_to_html"]
