"""Translations of a form's own texts, kept beside the form as ``<form key>.i18n.json``.

English is the source language of a form: its labels, descriptions, option
labels and text components are written in English, and the file maps each of
them to its translation, per language::

    {
      "ru": {"Comment": "Комментарий", "Approved": "Утверждён", ...},
      "uz": {...}, "uz-Cyrl": {...}, "kk": {...}, "ky": {...}
    }

``en`` needs no entry.  An empty translation (``""``) means "not translated yet"
and shows the English text, so a translator can start from a file with every
text of :func:`form_texts` and empty values.  A key that is not a text of the
form (a typo, or a text the form no longer has) is an error, so translations
cannot silently go stale.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from . import messages as M
from .definition import FormDefinition, _no_constants, _no_duplicate_keys
from .errors import FormDefinitionError

#: Languages a form's texts are translated into (English is the source).
LANGUAGES = ("uz", "uz-Cyrl", "ru", "kk", "ky")
TEXTS_FILE_SUFFIX = ".i18n.json"
_MAX_LISTED = 10
_MAX_SHOWN_CHARS = 60


def _visible(text: Any) -> bool:
    """A text a person reads (FEEL expressions, starting with "=", are not translated)."""
    return isinstance(text, str) and text.strip() != "" and not text.strip().startswith("=")


def _component_texts(components: Any) -> Iterator[str]:
    if not isinstance(components, list):
        return
    for component in components:
        if not isinstance(component, Mapping):
            continue
        ctype = component.get("type")
        if ctype == "text":
            candidates = [component.get("text")]
        else:
            candidates = [component.get("label")]
            if ctype == "datetime":
                candidates.append(component.get("dateLabel"))
            candidates.append(component.get("description"))
            values = component.get("values")
            if isinstance(values, list):
                candidates.extend(entry.get("label") for entry in values if isinstance(entry, Mapping))
        for text in candidates:
            if _visible(text):
                yield text
        yield from _component_texts(component.get("components"))


def form_texts(form: FormDefinition) -> list[str]:
    """Every translatable text of a form, in the order of the form, each once.

    Labels (and a date's ``dateLabel``), descriptions, option labels and text
    components: everything :func:`forms.render.render_form` passes to ``translate``
    from the definition.  The package's own words ("Add", "(required)") and the
    validation messages are in :mod:`forms.messages` and the product catalogues.
    """
    return list(dict.fromkeys(_component_texts(form.raw.get("components"))))


def _shown(text: str) -> str:
    if len(text) > _MAX_SHOWN_CHARS:
        text = text[: _MAX_SHOWN_CHARS - 1] + "…"
    return json.dumps(text, ensure_ascii=False)


class FormTexts:
    """The translations of one form's texts; build with :meth:`from_json` or :meth:`from_dict`."""

    def __init__(self, form_key: str, translations: dict[str, dict[str, str]]):
        self.form_key = form_key
        self.translations = translations

    def __repr__(self) -> str:
        return f"<FormTexts {self.form_key!r} languages={sorted(self.translations)}>"

    # -- construction ------------------------------------------------------------

    @classmethod
    def from_json(cls, text: str | bytes, form: FormDefinition) -> FormTexts:
        """Parse and check ``<form key>.i18n.json`` against ``form``.

        Raises :class:`FormDefinitionError` with a message naming the problem (invalid
        JSON with its line and column, an unknown language, a translation that is not
        a string, the texts that are not in the form).
        """
        if isinstance(text, (bytes, bytearray)):
            try:
                text = bytes(text).decode("utf-8-sig")
            except UnicodeDecodeError:
                raise FormDefinitionError(M.DEF_NOT_UTF8) from None
        elif text.startswith("\ufeff"):
            text = text[1:]
        try:
            data = json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_constant=_no_constants)
        except json.JSONDecodeError as error:
            raise FormDefinitionError(
                M.DEF_INVALID_JSON.format(line=error.lineno, column=error.colno, problem=error.msg)
            ) from None
        except RecursionError:
            raise FormDefinitionError(M.DEF_TOO_DEEP) from None
        return cls.from_dict(data, form)

    @classmethod
    def from_dict(cls, data: Any, form: FormDefinition) -> FormTexts:
        """Check parsed translations (language → English text → translation) against ``form``."""
        if not isinstance(data, Mapping):
            raise FormDefinitionError(M.DEF_TEXTS_NOT_OBJECT)
        unknown_languages = [language for language in data if language not in LANGUAGES]
        if unknown_languages:
            raise FormDefinitionError(
                M.DEF_TEXTS_BAD_LANGUAGE.format(
                    languages=", ".join(_shown(str(language)) for language in unknown_languages),
                    allowed=", ".join(LANGUAGES),
                )
            )
        known = set(form_texts(form))
        translations: dict[str, dict[str, str]] = {}
        for language, table in data.items():
            if not isinstance(table, Mapping):
                raise FormDefinitionError(M.DEF_TEXTS_LANGUAGE_NOT_OBJECT.format(language=language))
            for source, target in table.items():
                if not isinstance(target, str):
                    raise FormDefinitionError(
                        M.DEF_TEXTS_NOT_STRING.format(language=language, text=_shown(source))
                    )
            stray = [source for source in table if source not in known]
            if stray:
                listed = ", ".join(_shown(source) for source in stray[:_MAX_LISTED])
                if len(stray) > _MAX_LISTED:
                    listed += ", …"
                raise FormDefinitionError(
                    M.DEF_TEXTS_UNKNOWN.format(
                        language=language, count=len(stray), form=form.key, texts=listed
                    )
                )
            translations[language] = {source: target for source, target in table.items() if target != ""}
        return cls(form.key, translations)

    # -- use -------------------------------------------------------------------------

    @property
    def languages(self) -> list[str]:
        return [language for language in LANGUAGES if language in self.translations]

    def translate(self, language: str, text: str) -> str | None:
        """The translation of ``text``, or None when there is none."""
        return self.translations.get(language, {}).get(text)

    def translator(
        self, language: str, fallback: Callable[[str], str] | None = None
    ) -> Callable[[str], str]:
        """A ``translate(text) -> text`` for :func:`~forms.render.render_form` and
        :meth:`~forms.FormDefinition.validate`.

        Texts of the form are looked up in this file; anything else (and a form text
        without a translation) goes to ``fallback`` (e.g. the product's gettext, which
        knows the package's own words and the validation messages), or is returned as
        it is.  ``en`` and languages without an entry translate nothing.
        """
        table = self.translations.get(language, {})

        def translate(text: str) -> str:
            translated = table.get(text)
            if translated:
                return translated
            return fallback(text) if fallback is not None else text

        return translate

    def missing(self, form: FormDefinition, language: str) -> list[str]:
        """The texts of ``form`` with no translation into ``language`` (for completeness checks)."""
        table = self.translations.get(language, {})
        return [text for text in form_texts(form) if text not in table]


__all__ = ["LANGUAGES", "TEXTS_FILE_SUFFIX", "FormTexts", "form_texts"]
