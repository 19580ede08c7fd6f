"""Documents of a case as PDF from the case page, and a draft's document previewed on a made-up case from the
workbench."""
from __future__ import annotations

from flask import flash, g, redirect, request, url_for
from flask_babel import gettext as _

from engine.errors import InvalidInput
from engine.i18n import LANGUAGES
from engine.services import documents

from ..api.documents import pdf_response
from . import bp, engine, login_required


@bp.get("/cases/<int:case_id>/documents/<document>.pdf")
@login_required
def case_document(case_id, document):
    """One document of the case, in the user's language or another one asked with ``?lang=`` (the client's)."""
    return pdf_response(documents.issue(engine(), g.actor, case_id, document, _language()))


@bp.get("/workbench/drafts/<int:draft_id>/documents/<document>.pdf")
@login_required
def preview_document(draft_id, document):
    """A draft's document on the sample answers (no person's data), before it is published."""
    try:
        return pdf_response(documents.preview(engine(), g.actor, draft_id, document, _language()))
    except InvalidInput:  # the template or its translations have problems: the file's page lists them
        flash(_("The document has problems: fix them, save, then preview it again."), "error")
        return redirect(url_for("web.draft_file", draft_id=draft_id, name=f"{document}.document.html"))


def _language() -> str | None:
    language = request.args.get("lang") or None
    if language is not None and language not in LANGUAGES:
        raise InvalidInput("Not a language of Yordam.", fields={"lang": ["Use one of: " + ", ".join(LANGUAGES)]})
    return language


@bp.app_template_global()
def case_documents(case_id) -> list[dict]:
    """The case page's "Documents" section: each document with its title in the reader's language."""
    return documents.list_documents(engine(), g.actor, case_id)["items"]
