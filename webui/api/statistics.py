"""GET /api/v1/statistics: process statistics without personal data (``engine.services.statistics``).

Query parameters: ``from`` and ``until`` (dates, both days included; the last 90 days without them),
``unit_id`` (a region or district), ``version`` (a process version's id), ``time_zone`` (of the period).
"""
from __future__ import annotations

from flask import g, jsonify, request

from engine.services import statistics as statistics_service

from . import arg_date, arg_int, bp, engine


@bp.get("/statistics")
def process_statistics():
    return jsonify(statistics_service.process_statistics(
        engine(), g.actor, date_from=arg_date("from"), date_until=arg_date("until"), unit_id=arg_int("unit_id"),
        version=arg_int("version"),
        time_zone=request.args.get("time_zone") or statistics_service.DEFAULT_TIME_ZONE))
