"""Documents of a case as PDF (the service plan, the assessment act, the referral letter, the closure summary), in
the reader's language or the one asked with ``?lang=``."""
from __future__ import annotations

from flask import current_app, g

from engine.services import documents

from . import bp, engine


@bp.get("/cases/<int:case_id>/documents")
def list_documents(case_id):
    return documents.list_documents(engine(), g.actor, case_id)


@bp.get("/cases/<int:case_id>/documents/<document>")
def issue_document(case_id, document):
    issued = documents.issue(engine(), g.actor, case_id, document)
    return pdf_response(issued)


def pdf_response(issued: dict):
    response = current_app.response_class(issued["pdf"], mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{issued["file_name"]}"'
    response.headers["Content-Language"] = issued["language"]
    return response
