"""The case file over the API: the whole case as JSON (``format_version`` inside), or as the PDF the case page
offers; texts in the user's language (or ``?lang=``). Each export is logged as a read of the case."""
from __future__ import annotations

from flask import g

from engine.services import case_file as case_file_service

from . import bp, engine


@bp.get("/cases/<int:case_id>/file")
def case_file(case_id):
    return case_file_service.case_file(engine(), g.actor, case_id, format="json")


@bp.get("/cases/<int:case_id>/file.pdf")
def case_file_pdf(case_id):
    from ..web.case_file import pdf_response
    return pdf_response(case_file_service.case_file(engine(), g.actor, case_id, format="pdf"))
