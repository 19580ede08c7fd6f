"""Errors the engine raises. Adapters (web, CLI) map them to responses; services never speak HTTP."""


class EngineError(Exception):
    """Base of every error a user or a file can cause. ``code`` is stable and machine-readable."""

    code = "error"

    def __init__(self, message: str, *, fields: dict | None = None, **details):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        self.details = details


class NotFound(EngineError):
    code = "not_found"


class NotAllowed(EngineError):
    code = "forbidden"


class NotAuthenticated(EngineError):
    code = "unauthenticated"


class TooManyAttempts(NotAuthenticated):
    """Sign-in refused for a while after repeated failures, whatever the password."""

    code = "too_many_attempts"


class InvalidInput(EngineError):
    """Request data that does not fit: per-field messages in ``fields``."""

    code = "invalid"


class Conflict(EngineError):
    """The thing changed meanwhile (task completed by someone else, case advanced)."""

    code = "conflict"


class ScenarioFailed(Conflict):
    """A draft cannot be published while one of its scenarios fails (``details['failing']`` names them)."""

    code = "scenario_failed"


class DefinitionInvalid(EngineError):
    """A BPMN/DMN/form set that cannot be published. ``problems`` lists every finding."""

    code = "definition_invalid"

    def __init__(self, message: str, problems: list | None = None):
        super().__init__(message)
        self.problems = problems or []


class ScriptFailed(EngineError):
    """A methodologist's script or expression failed while a case advanced; the case was left unchanged."""

    code = "script_failed"
