"""Words for the answers' codes: the labels of a choice (a service type, a referral destination, a closure
reason, a client category) as the forms of the latest published process show them, in a reader's language.

Reports and documents print codes that the methodologists' forms define ("medical", "commission_minors"), so
their words come from the same place as on the form: the option's label, translated by the form's own
``.i18n.json``. The latest version decides, as for a new case; a code no form knows any more is shown as is.
"""
from __future__ import annotations

from . import definitions


def choice_words(engine, language: str) -> dict[str, dict[str, str]]:
    """``{field key: {option value: label in language}}`` over every form of the latest published version."""
    with engine.db.read() as session:
        version = definitions.latest(session)
        return words_of(engine, version, language) if version is not None else {}


def words_of(engine, version, language: str) -> dict[str, dict[str, str]]:
    """The same over the forms of ``version``; a key two forms share keeps the first form's (by form key) label
    for a value and adds the other's new values."""
    forms = engine.forms_of(version)
    words: dict[str, dict[str, str]] = {}
    for key in sorted(forms):
        translate = engine.form_translator(version, key, language)
        for field in _choice_fields(forms[key].fields):
            table = words.setdefault(field.key, {})
            for value, text in (field.option_labels or {}).items():
                table.setdefault(value, translate(text))
    return words


def _choice_fields(fields):
    for field in fields:
        if field.options is not None:
            yield field
        yield from _choice_fields(field.children)
