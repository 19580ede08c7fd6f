"""Translation tables beside a definition's files (``<process>.i18n.json``, ``<document>.document.i18n.json``):
``{language: {English text: translation}}``, checked the same way whoever reads them."""
from __future__ import annotations

import json

from ..i18n import N_, Complaint

#: the languages a definition's texts are translated into (English is the text itself)
TEXT_LANGUAGES = ("uz", "uz-Cyrl", "ru", "kk", "ky")


def language_tables(text: str, *, not_text_to_text: str) -> dict[str, dict[str, str]]:
    """The parsed tables; raises ``Complaint`` for bad JSON, an unknown language, or a table that is not text to
    text (told with ``not_text_to_text``, a catalogue template taking ``%(language)s``)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise Complaint(N_("invalid JSON at line %(lineno)s, column %(colno)s: %(error)s"), lineno=err.lineno,
                        colno=err.colno, error=err.msg) from None
    if not isinstance(data, dict):
        raise Complaint(N_("the file must be a JSON object of languages"))
    for language, table in data.items():
        if language not in TEXT_LANGUAGES:
            raise Complaint(N_("'%(language)s' is not a language to translate into; use: %(languages)s"),
                            language=language, languages=", ".join(TEXT_LANGUAGES))
        if not isinstance(table, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                  for k, v in table.items()):
            raise Complaint(not_text_to_text, language=language)
    return data
