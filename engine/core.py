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
        self.db = database or Database(self.settings.database_url)
        self.runtime = ProcessRuntime(clock)
        self._forms_cache: dict[int, dict] = {}
        self._forms_lock = threading.Lock()

    def now(self):
        return self.clock.now()

    def forms_of(self, version) -> dict:
        """The compiled forms of a definition version, cached per version (they never change)."""
        forms = self._forms_cache.get(version.id)
        if forms is None:
            from forms import FormDefinition
            forms = {name[: -len(".form.json")]: FormDefinition.from_json(text, key=name[: -len(".form.json")])
                     for name, text in version.files.items() if name.endswith(".form.json")}
            with self._forms_lock:
                self._forms_cache[version.id] = forms
        return forms

    def spec_loader(self, version):
        return lambda: version.spec_json
