"""GET /api/v1/reports/monthly: the monthly report's figures as JSON, or in the user's language as CSV, XLSX or
PDF (``format``) — the same files the HTML app downloads."""
from __future__ import annotations

from flask import Response, g, jsonify, request

from engine.errors import InvalidInput
from engine.services import reports as report_service

from .. import report_files
from . import bp, engine


def _number(name):
    raw = request.args.get(name)
    if raw in (None, ""):
        return None
    if not raw.isdigit() or len(raw) > 9:
        raise InvalidInput("The report request is not valid.", fields={name: ["Must be a whole number."]})
    return int(raw)


@bp.get("/reports/monthly")
def monthly_report():
    default = report_service.choices(engine(), g.actor)["default"]
    fmt = request.args.get("format") or "json"
    if fmt not in ("json", *report_files.FORMATS):
        raise InvalidInput("The report request is not valid.", fields={"format": ["Choose json, csv, xlsx or pdf."]})
    asked = {name: _number(name) if name in request.args else default[name] for name in ("year", "month", "unit_id")}
    asked["level"] = request.args.get("level") or default["level"]
    asked["time_zone"] = request.args.get("time_zone") or default["time_zone"]
    if fmt == "json":
        return jsonify(report_service.monthly(engine(), g.actor, **asked))
    report, table = report_files.monthly(asked)
    return Response(report_files.render(report, table, fmt), mimetype=report_files.FORMATS[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{report_files.file_name(report, fmt)}"'})


@bp.get("/reports/choices")
def report_choices():
    return jsonify(report_service.choices(engine(), g.actor))
