"""The texts of the workbench's own "Yordam" group in the diagram editor, in the reader's language.

The editor bundle is built once for every language, so the page hands it its labels and descriptions as
``{English text: translation}`` (frontend/src/yordam-properties.js looks each one up; one it does not find stays
English). Keep this list in step with that file.
"""
from __future__ import annotations

from flask_babel import gettext as _

from engine.i18n import N_

TEXTS = (
    N_("Form key"), N_("The form shown to the user: forms/<key>.form.json"),
    N_("Stage"), N_("identification, assessment, planning, delivery, monitoring, closure"),
    N_("Deadline"), N_("e.g. 5 working days · 24 hours · (monitoring_interval_days) calendar days"),
    N_("Deadline source"), N_("The rule or law the deadline comes from"),
    N_("Reminder"),  # its description is only examples of the syntax ("80% · 50%, 80%"): nothing to translate
    N_("Escalation ladder"), N_("e.g. supervisor at deadline; center_head after 3 working days"),
    N_("Requires consent"), N_("assessment · data_sharing · referral (empty: none)"),
    N_("Consent agency field"), N_("A form field naming the agency"),
    N_("Pre-script"), N_("Python run when the task opens"),
    N_("Post-script"), N_("Python run when the task is completed"),
    N_("Decision"), N_("The id of the DMN decision to evaluate"),
    N_("Script"), N_("Python, restricted (workflows/README.md)"),
    N_("Role"), N_("The lane's name is the role that does its tasks"), N_("(none)"),
)


def editor_texts() -> dict[str, str]:
    return {text: _(text) for text in TEXTS}
