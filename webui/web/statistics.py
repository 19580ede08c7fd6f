"""Process statistics for methodologists (and a district's supervisors): the page with its tables and bars.

The figures are ``engine.services.statistics``'s, without personal data; a bad filter shows the form again with
what is wrong (422), never an error page.
"""
from __future__ import annotations

from datetime import date

from flask import g, render_template, request

from engine.errors import InvalidInput
from engine.services import statistics as statistics_service

from . import bp, engine, login_required
from .util import known, translated

#: The time zones offered for the period (the jurisdictions'); another one typed in the address still works.
ZONES = ("Asia/Tashkent", "Asia/Almaty", "Asia/Bishkek")


def _asked() -> dict:
    """The filter from the query string; a value that does not read stays as typed, so the service names the
    field that is wrong."""
    asked = {}
    for name, key in (("from", "date_from"), ("until", "date_until")):
        raw = (request.args.get(name) or "").strip()
        try:
            asked[key] = date.fromisoformat(raw) if raw else None
        except ValueError:
            asked[key] = raw
    for name in ("unit_id", "version"):
        raw = (request.args.get(name) or "").strip()
        asked[name] = (int(raw) if raw.isdigit() and len(raw) < 10 else raw) if raw else None
    asked["time_zone"] = request.args.get("time_zone") or statistics_service.DEFAULT_TIME_ZONE
    return asked


@bp.get("/statistics")
@login_required
def statistics():
    offer = statistics_service.choices(engine(), g.actor)  # others' roles: 403, as for any refused page
    asked = _asked()
    zones = ZONES if asked["time_zone"] in ZONES else (*ZONES, asked["time_zone"])
    try:
        data = statistics_service.process_statistics(engine(), g.actor, **asked)
    except InvalidInput as err:
        return render_template("statistics.html", data=None, offer=offer, asked=request.args, zones=zones,
                               errors=translated(err.fields or {}), message=known(err.message)), 422
    return render_template("statistics.html", data=data, offer=offer, zones=zones, errors={},
                           asked={"from": data["from"], "until": data["until"], "unit_id": data["unit_id"] or "",
                                  "version": data["version"] or "", "time_zone": data["time_zone"]})
