"""The product's translation catalogues, for the engine and the web app alike.

One gettext catalogue per UI language lives in ``engine/translations/<locale>/LC_MESSAGES/messages.po``. The
``.po`` files are compiled in memory on first use, so a fresh clone needs no build step and a translator's
edit shows on the next start. Flask-Babel is pointed at the same catalogues by the web app.
"""
from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from io import BytesIO
from pathlib import Path

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

CATALOGUES = Path(__file__).parent / "translations"
#: UI languages, as users pick them; the first is the default.
LANGUAGES = ("uz", "uz-Cyrl", "ru", "kk", "ky", "en")
DEFAULT_LANGUAGE = "uz"


def babel_locale(language: str) -> str:
    """``uz-Cyrl`` → ``uz_Cyrl`` (Babel's spelling); anything unknown → the default language."""
    language = language if language in LANGUAGES else DEFAULT_LANGUAGE
    return language.replace("-", "_")


def pick_language(*candidates) -> str:
    """The first candidate that is a UI language (exact, or by its primary subtag: ``ru-RU`` → ``ru``)."""
    for candidate in candidates:
        if not candidate:
            continue
        candidate = str(candidate).strip().replace("_", "-")
        if candidate in LANGUAGES:
            return candidate
        lowered = {lang.lower(): lang for lang in LANGUAGES}
        if candidate.lower() in lowered:
            return lowered[candidate.lower()]
        primary = candidate.split("-")[0].lower()
        if primary in LANGUAGES:
            return primary
    return DEFAULT_LANGUAGE


@lru_cache(maxsize=None)
def translations(language: str) -> NullTranslations:
    path = CATALOGUES / babel_locale(language) / "LC_MESSAGES" / "messages.po"
    if not path.exists():
        return NullTranslations()
    with path.open("rb") as po:
        catalog = read_po(po, locale=babel_locale(language))
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


@lru_cache(maxsize=None)
def translated_ids(language: str) -> frozenset:
    """The msgids the language's catalogue translates (a translation may equal its msgid: "Mahalla")."""
    path = CATALOGUES / babel_locale(language) / "LC_MESSAGES" / "messages.po"
    if not path.exists():
        return frozenset()
    with path.open("rb") as po:
        catalog = read_po(po, locale=babel_locale(language))
    return frozenset(m.id[0] if isinstance(m.id, tuple) else m.id for m in catalog
                     if m.id and (all(m.string) if isinstance(m.string, tuple) else m.string))


def gettext(language: str, message: str, **params) -> str:
    text = translations(language).gettext(message)
    return text % params if params else text


def ngettext(language: str, singular: str, plural: str, n: int, **params) -> str:
    text = translations(language).ngettext(singular, plural, n)
    return text % dict(params, num=n)


def tell(language: str | None, template: str, params: dict | None = None) -> str:
    """A catalogue template (marked ``N_`` where it was written) filled with its params, in ``language`` — or
    English for None. A param that is itself ``{"template", "params"}`` is told the same way first, so a message
    can quote another one (a problem quoting a deadline rule's complaint). ``%%`` in a template is a percent sign.

    The one way the engine keeps a message to tell later in the reader's language: stored problems of a draft,
    the reasons a case cannot migrate, the failures of a scenario."""
    text = translations(language).gettext(template) if language else template
    return text % {key: tell(language, value["template"], value.get("params")) if isinstance(value, dict) else value
                   for key, value in (params or {}).items()}


class Complaint(ValueError):
    """A ``ValueError`` told by a catalogue template and its params: ``str(err)`` is the English text, and a
    message quoting it can be told in another language (as ``{"template", "params"}``, see ``tell``)."""

    def __init__(self, template: str, **params):
        super().__init__(tell(None, template, params))
        self.template, self.params = template, params


def N_(message: str) -> str:
    """Mark a string for extraction where it is translated later (at read time, in the reader's language)."""
    return message


def day(language: str, value: date) -> str:
    """A date as people write it in a note: "Tue 9 Dec" (the year only when it is not obvious is the
    caller's business)."""
    return format_date(value, "EEE d MMM", locale=babel_locale(language))


def day_with_year(language: str, value: date) -> str:
    return format_date(value, "EEE d MMM y", locale=babel_locale(language))


def moment(language: str, value: datetime, tz) -> str:
    return format_datetime(value, "EEE d MMM, HH:mm", tzinfo=tz, locale=babel_locale(language))


def language_name(language: str) -> str:
    return Locale.parse(babel_locale(language)).get_display_name().capitalize()
