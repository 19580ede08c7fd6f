"""The case file as a PDF (and its JSON twin) to download from the case page: the whole case as the centre hands
it over. The engine gives the data (``engine.services.case_file``); the PDF is an HTML page of it in the
reader's language, printed by ``engine.pdf``."""
from __future__ import annotations

import json
from datetime import date, datetime

from babel.dates import format_datetime
from flask import current_app, g, render_template

from engine import i18n
from engine.pdf import html_to_pdf
from engine.services import case_file as case_file_service

from ..i18n import TZ, current_language
from . import bp, engine, login_required

#: The print style of the case file, over ``engine.pdf.BASE_CSS`` (A4, page numbers, shipped fonts).
PDF_CSS = """
@page { @top-left { content: string(file-title); font-size: 8pt; color: #555; } }
h1 { string-set: file-title content(); }
h2 { border-bottom: 0.8pt solid #333; padding-bottom: 1mm; break-after: avoid; }
h3 { font-size: 10.5pt; margin: 4mm 0 1mm; break-after: avoid; }
p.meta, .meta { color: #444; font-size: 9pt; margin: 0 0 2mm; }
table.facts th { width: 32%; background: #f4f4f4; font-weight: normal; }
table.answers th { width: 38%; background: #f8f8f8; font-weight: normal; }
td.list-answer { padding: 1.2mm 0 0; border-left: none; border-right: none; }
p.list-label { margin: 0 2mm 1mm; }
table.items { margin: 0; }
table.items th { font-size: 8.5pt; }
table.items td { font-size: 9pt; }
section.form, section.plan-version { break-inside: avoid-page; }
ol.timeline { padding-left: 5mm; }
ol.timeline li { margin: 0 0 1.2mm; }
ol.timeline time { color: #444; font-size: 9pt; }
.late, .missed { font-weight: bold; }
.empty { color: #555; font-style: italic; }
"""


def _when(value) -> str:
    """An ISO instant or date with its year, in the reader's language (a file is read years later)."""
    if not value:
        return "—"
    language = current_language()
    parsed = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    if isinstance(parsed, datetime):
        return format_datetime(parsed, "d MMM y, HH:mm", tzinfo=TZ, locale=i18n.babel_locale(language))
    return i18n.day_with_year(language, parsed)


def render_pdf(file: dict) -> bytes:
    """The PDF of a case file, in the current request's language."""
    html = render_template("case_file_pdf.html", file=file, when=_when)
    return html_to_pdf(html, css=PDF_CSS)


def pdf_response(file: dict):
    response = current_app.response_class(render_pdf(file), mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="case-{file["case"]["id"]}-file.pdf"'
    return response


@bp.get("/cases/<int:case_id>/file.pdf")
@login_required
def case_file_pdf(case_id):
    return pdf_response(case_file_service.case_file(engine(), g.actor, case_id, format="pdf"))


@bp.get("/cases/<int:case_id>/file.json")
@login_required
def case_file_json(case_id):
    file = case_file_service.case_file(engine(), g.actor, case_id, format="json")
    response = current_app.response_class(json.dumps(file, ensure_ascii=False, indent=2),
                                          mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="case-{case_id}-file.json"'
    return response
