"""Monthly reports: the page with its charts, and the same figures as CSV, XLSX and PDF downloads."""
from __future__ import annotations

from flask import g, render_template, request
from flask_babel import gettext as _

from engine.errors import InvalidInput
from engine.services import reports as report_service
from engine.services.report_layout import LEVEL_NAMES

from .. import report_files
from . import bp, engine, login_required


def report_request(defaults: dict) -> dict:
    """The report asked for in the query string, each missing part from ``defaults``. A value that is not a
    number stays as typed, so the report service names the field that is wrong."""
    asked = {}
    for name in ("year", "month", "unit_id"):
        raw = request.args.get(name if name != "unit_id" else "unit", request.args.get(name))
        if raw is None:
            asked[name] = defaults[name]
        elif raw == "":
            asked[name] = None if name == "unit_id" else raw
        else:
            asked[name] = int(raw) if raw.strip().isdigit() and len(raw) < 10 else raw
    asked["level"] = request.args.get("level") or defaults["level"]
    asked["time_zone"] = request.args.get("time_zone") or defaults["time_zone"]
    return asked


def _page(**values):
    return render_template("reports.html", month_name=report_files.month_only,
                           level_name=lambda level: _(LEVEL_NAMES[level]), **values)


@bp.get("/reports")
@login_required
def report_page():
    offer = report_service.choices(engine(), g.actor)
    asked = report_request(offer["default"])
    try:
        report, table = report_files.monthly(asked)
    except InvalidInput as err:
        errors = {name: [_(m) for m in messages] for name, messages in (err.fields or {}).items()}
        return _page(offer=offer, asked=asked, report=None, table=None, errors=errors, message=_(err.message)), 422
    return _page(offer=offer, asked=asked, report=report, table=table, errors={}, words=report_files.describe(report))


@bp.get("/reports/monthly.csv")
@bp.get("/reports/monthly.xlsx")
@bp.get("/reports/monthly.pdf")
@login_required
def report_file():
    fmt = request.path.rsplit(".", 1)[1]
    report, table = report_files.monthly(report_request(report_service.defaults(engine(), g.actor)))
    return report_files.download(report, table, fmt)
