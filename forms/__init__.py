"""Yordam forms: form-js JSON definitions compiled into server-side validation.

A leaf package: it imports neither Flask, SQLAlchemy, SpiffWorkflow nor the
``engine``/``webui`` packages.

    from forms import FormDefinition, FormDefinitionError, FormValidationError
    from forms import load_form_file, load_forms_dir

    fd = load_form_file("forms/intake.form.json")   # key "intake"
    cleaned = fd.validate(request_json)              # or partial=True for drafts
"""

from .definition import FormDefinition, load_form_file, load_forms_dir
from .errors import FormDefinitionError, FormValidationError
from .model import Field

__all__ = [
    "Field",
    "FormDefinition",
    "FormDefinitionError",
    "FormValidationError",
    "load_form_file",
    "load_forms_dir",
]
