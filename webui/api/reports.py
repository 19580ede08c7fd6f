"""GET /api/v1/reports/monthly: the monthly report's figures as JSON, or in the user's language as CSV, XLSX or
PDF (``format``) — the same files the HTML app downloads."""
from __future__ import annotations

from flask import g, jsonify, request

from engine.errors import InvalidInput
from engine.i18n import N_
from engine.services import reports as report_service

from .. import report_files
from . import arg_int, bp, engine


@bp.get("/reports/monthly")
def monthly_report():
    default = report_service.defaults(engine(), g.actor)
    fmt = request.args.get("format") or "json"
    if fmt not in ("json", *report_files.FORMATS):
        raise InvalidInput(N_("The report request is not valid."),
                           fields={"format": [N_("Choose json, csv, xlsx or pdf.")]})
    # a unit given empty is the whole scope; a parameter left out takes the default
    asked = {name: arg_int(name) if name in request.args else default[name] for name in ("year", "month", "unit_id")}
    asked["level"] = request.args.get("level") or default["level"]
    asked["time_zone"] = request.args.get("time_zone") or default["time_zone"]
    if fmt == "json":
        return jsonify(report_service.monthly(engine(), g.actor, **asked))
    return report_files.download(*report_files.monthly(asked), fmt)


@bp.get("/reports/choices")
def report_choices():
    return jsonify(report_service.choices(engine(), g.actor))
