"""The monthly report in the user's language, as the page shows it and as CSV, XLSX and PDF files: one layout
(``engine.services.report_layout``) behind all four, shared by the HTML app and the JSON API."""
from __future__ import annotations

from datetime import date

from babel.dates import format_date
from flask import Response, current_app, g, render_template
from flask_babel import gettext as _

from engine import i18n
from engine.pdf import html_to_pdf
from engine.services import report_layout, reports
from engine.services.vocabulary import choice_words

from .i18n import current_language
from .web.labels import label as code_label

FORMATS = {"csv": "text/csv",  # Flask adds "; charset=utf-8"
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
           "pdf": "application/pdf"}
#: the vocabularies of the layout, and the form fields whose options name their codes (first one wins)
CHOICE_FIELDS = {"closure_reason": ("closure_reason",), "category": ("client_categories",),
                 "service_type": ("service_type",), "referral": ("referrals", "referred_to")}


def _engine():
    return current_app.extensions["yordam"]


def labeller():
    """``label(vocabulary, code)`` in the user's language: the app's words for stages and risk levels, the
    forms' option labels for the rest."""
    words = choice_words(_engine(), current_language())

    def label(vocabulary: str, code: str) -> str:
        if vocabulary in ("stage", "risk"):
            return code_label(vocabulary, code)
        for field in CHOICE_FIELDS[vocabulary]:
            if code in words.get(field, {}):
                return words[field][code]
        return code
    return label


def monthly(request: dict) -> tuple[dict, dict]:
    """The report asked for (``reports.monthly``'s keyword arguments) and its layout in the user's language."""
    report = reports.monthly(_engine(), g.actor, **request)
    return report, report_layout.layout(report, translate=_, label=labeller())


def month_name(year: int, month: int) -> str:
    """"January 2026" in the user's language (the stand-alone month name, in lower case where the language
    writes it so: "январь 2026")."""
    return format_date(date(year, month, 1), "LLLL y", locale=i18n.babel_locale(current_language()))


def month_only(month: int) -> str:
    """"January" in the user's language, for a list of months."""
    return format_date(date(2000, month, 1), "LLLL", locale=i18n.babel_locale(current_language())).capitalize()


def describe(report: dict) -> dict:
    """The words above the figures: the title, the place, the period."""
    kind = report["level"]
    level = _(report_layout.LEVEL_NAMES[kind])
    place = report.get("unit_name") or _("All that you may see")
    return {"title": _("Monthly report, %(month)s", month=month_name(report["year"], report["month"])),
            "subtitle": _("%(place)s · by %(level)s · times in %(zone)s", place=place, level=level.lower(),
                          zone=report["time_zone"]),
            "place": place}


def file_name(report: dict, fmt: str) -> str:
    unit = f"-{report['unit_id']}" if report.get("unit_id") else ""
    return f"yordam-report-{report['year']}-{report['month']:02d}-{report['level']}{unit}.{fmt}"


def render(report: dict, table: dict, fmt: str) -> bytes:
    words = describe(report)
    if fmt == "csv":
        return report_layout.to_csv(table)
    if fmt == "xlsx":
        return report_layout.to_xlsx(table, title=words["title"], subtitle=words["subtitle"],
                                     summary_sheet=_("Summary"))
    html = render_template("report_print.html", report=report, table=table, words=words,
                           prepared_at=_engine().now(), prepared_by=g.actor.full_name)
    return html_to_pdf(html)


def download(report: dict, table: dict, fmt: str) -> Response:
    """The report as a file to save, named after its month, level and unit."""
    return Response(render(report, table, fmt), mimetype=FORMATS[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{file_name(report, fmt)}"'})
