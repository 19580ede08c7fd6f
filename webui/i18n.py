"""Flask-Babel over the product's own catalogues (engine/translations), and the choice of language.

The language of a request is, in order: the signed-in user's language, a ``lang`` query parameter (the sign-in
page's language links), the ``yordam_lang`` cookie set by the sign-in page, and the browser's
Accept-Language. Under ``YORDAM_STRICT_I18N`` (tests) every message without a translation is recorded, so a
test walking every page in every language can fail on a missing catalogue entry.
"""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import g, request
from flask_babel import Babel, Domain

from engine import i18n

LANGUAGE_COOKIE = "yordam_lang"
#: Dates on pages are shown in the centre's time (all demo districts are in Uzbekistan).
TZ = ZoneInfo("Asia/Tashkent")


class CatalogueDomain(Domain):
    """The Flask-Babel domain whose translations are the engine's in-memory compiled catalogues."""

    def __init__(self, app):
        super().__init__()
        self.app = app

    def get_translations(self):
        return i18n.translations(current_language())

    def gettext(self, string, **variables):
        self._check(string)
        return super().gettext(string, **variables)

    def ngettext(self, singular, plural, num, **variables):
        self._check(singular)
        return super().ngettext(singular, plural, num, **variables)

    def _check(self, msgid):
        if self.app.config.get("YORDAM_STRICT_I18N"):
            language = current_language()
            if language != "en" and msgid.strip() and msgid not in i18n.translated_ids(language):
                self.app.extensions["yordam_missing_translations"].add((language, msgid))


def current_language() -> str:
    if "language" not in g:
        actor = g.get("actor")
        g.language = i18n.pick_language(
            actor.language if actor else None,
            request.args.get("lang"),
            request.cookies.get(LANGUAGE_COOKIE),
            request.accept_languages.best_match([lang for lang in i18n.LANGUAGES] + ["uz-UZ", "ru-RU", "kk-KZ",
                                                                                    "ky-KG", "en-US"]),
        )
    return g.language


def format_day(value) -> str:
    """An ISO instant or date as "Tue 9 Dec" in the reader's language (local date in Tashkent time)."""
    parsed = _parse(value)
    if parsed is None:
        return "—"
    if isinstance(parsed, datetime):
        parsed = parsed.astimezone(TZ).date()
    return i18n.day(current_language(), parsed)


def format_moment(value) -> str:
    parsed = _parse(value)
    if parsed is None:
        return "—"
    if not isinstance(parsed, datetime):
        return i18n.day(current_language(), parsed)
    return i18n.moment(current_language(), parsed, TZ)


def _parse(value):
    if value in (None, ""):
        return None
    if isinstance(value, (datetime, date)):
        return value
    try:
        return datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    except (TypeError, ValueError):
        return None


def html_lang(language: str) -> str:
    return {"uz": "uz-Latn"}.get(language, language)


def init(app) -> None:
    babel = Babel(app, locale_selector=lambda: i18n.babel_locale(current_language()),
                  timezone_selector=lambda: "Asia/Tashkent")
    domain = babel.domain_instance = CatalogueDomain(app)
    app.extensions["yordam_missing_translations"] = set()

    # Templates translate through the same domain as the code, so strict mode sees their strings too
    # (Flask-Babel's own callables read the catalogue directly). Jinja's new-style gettext fills %(name)s itself.
    def template_gettext(string):
        domain._check(string)
        return domain.get_translations().ugettext(string)

    def template_ngettext(singular, plural, num):
        domain._check(singular)
        return domain.get_translations().ungettext(singular, plural, num)

    app.jinja_env.install_gettext_callables(template_gettext, template_ngettext, newstyle=True)
    from .web.labels import label
    app.jinja_env.globals.update(current_language=current_language, html_lang=html_lang,
                                 LANGUAGES=i18n.LANGUAGES, language_name=i18n.language_name, label=label)
    app.jinja_env.filters.update(day=format_day, moment=format_moment)
