"""The composition root: settings, clock, database and process runtime in one object any adapter can host."""
from __future__ import annotations

import threading

from .clock import OffsetClock, SystemClock
from .db.database import Database
from .process.runtime import ProcessRuntime
from .settings import Settings


class Engine:
    def __init__(self, settings: Settings | None = None, *, clock=None, database: Database | None = None):
        self.settings = settings or Settings.from_env()
        if clock is None:
            clock = OffsetClock(self.settings.start_time) if self.settings.start_time else SystemClock()
        self.clock = clock
        self.db = database or Database(self.settings.database_url,
                                       lock_timeout_seconds=self.settings.lock_timeout_seconds)
        self.runtime = ProcessRuntime(clock)
        self._forms_cache: dict[int, dict] = {}
        self._texts_cache: dict[int, dict] = {}
        self._titles_cache: dict[int, dict] = {}
        self._forms_lock = threading.Lock()

    def now(self):
        return self.clock.now()

    def forms_of(self, version) -> dict:
        """The compiled forms of a definition version, cached per version (they never change)."""
        forms = self._forms_cache.get(version.id)
        if forms is None:
            from forms import FormDefinition
            forms = {name[: -len(".form.json")]: FormDefinition.from_json(text, key=name[: -len(".form.json")])
                     for name, text in self.version_content(version, "files").items()
                     if name.endswith(".form.json")}
            with self._forms_lock:
                self._forms_cache[version.id] = forms
        return forms

    def form_translator(self, version, form_key: str, language: str):
        """A function translating the texts of one form of a version into ``language`` (identity when the set
        has no translations for it)."""
        from .i18n import translations
        catalogue = translations(language).gettext  # the form package's own words ("Add", "(required)" ...)
        texts = self.form_texts_of(version).get(form_key)
        return texts.translator(language, fallback=catalogue) if texts is not None else catalogue

    def form_texts_of(self, version) -> dict:
        """The ``<form key>.i18n.json`` translations of a version's forms, parsed once per version."""
        cached = self._texts_cache.get(version.id)
        if cached is None:
            from forms.i18n import FormTexts
            forms = self.forms_of(version)
            cached = {name[: -len(".i18n.json")]: FormTexts.from_json(text, forms[name[: -len(".i18n.json")]])
                      for name, text in self.version_content(version, "files").items()
                      if name.endswith(".i18n.json") and name[: -len(".i18n.json")] in forms}
            with self._forms_lock:
                self._texts_cache[version.id] = cached
        return cached

    def title_translator(self, version, language: str):
        """Translate the process texts (task titles, lane names) of a version into ``language``."""
        tables = self._titles_cache.get(version.id)
        if tables is None:
            tables = title_tables(self.version_content(version, "files"))
            with self._forms_lock:
                self._titles_cache[version.id] = tables
        table = tables.get(language, {})
        return lambda text: table.get(text, text)

    def spec_loader(self, version):
        return lambda: self.version_content(version, "spec_json")

    def version_content(self, version, name: str):
        """A version's ``files`` or ``spec_json``. They are deferred columns (read once per process into the caches
        above, not again with every case that loads its version), so a version read in a session that has ended
        gets them from a session of its own."""
        from sqlalchemy.orm.exc import DetachedInstanceError
        try:
            return getattr(version, name)
        except DetachedInstanceError:
            from sqlalchemy import select
            from .db.models import DefinitionVersion
            with self.db.read() as session:
                return session.scalar(select(getattr(DefinitionVersion, name)).where(DefinitionVersion.id == version.id))


def title_tables(files: dict[str, str]) -> dict[str, dict[str, str]]:
    """The process texts' translations of a definition set (``<bpmn stem>.i18n.json``): language → English text →
    translation, empty translations left out. A file that does not read is skipped: the checks report it."""
    import json
    tables: dict[str, dict[str, str]] = {}
    for name, text in files.items():
        if name.endswith(".i18n.json") and name[: -len(".i18n.json")] + ".bpmn" in files:
            try:
                languages = json.loads(text)
                for lang, table in languages.items():
                    tables.setdefault(lang, {}).update({k: v for k, v in table.items() if v})
            except (ValueError, AttributeError):
                continue
    return tables
