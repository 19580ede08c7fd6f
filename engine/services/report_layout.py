"""The monthly report laid out as tables in a reader's language, and written as CSV and XLSX.

The page, the PDF, the CSV and the XLSX all come from one layout, so the figures a supervisor sees on screen are
the ones in every file. The layout is plain data:

* ``summary`` — one row per group (worker, mahalla, district or region) and a total row, the headline figures;
* ``breakdowns`` — one table per breakdown (closed by reason, open by stage …): a row per item, a column per
  group and the total.

The CSV is the widest flat form: one row per group and the total, a column for every figure and every item of
every breakdown ("Closed: moved away"), so a spreadsheet can sum anything. The XLSX holds the summary on its
first sheet and a sheet per breakdown.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Callable

from ..i18n import N_
from .reports import UNKNOWN

STAGE_ORDER = ("identification", "assessment", "planning", "delivery", "monitoring", "closure", UNKNOWN)
RISK_ORDER = ("high", "medium", "low", "none", UNKNOWN)

#: (figure, title, how a group's figures give the column's number); totals use the same function.
SUMMARY = (
    ("opened", N_("Cases opened"), lambda f: f["opened"]),
    ("closed", N_("Cases closed"), lambda f: f["closed"]),
    ("open_at_end", N_("Open at the month's end"), lambda f: f["open_at_end"]),
    ("persons", N_("People served"), lambda f: f["served"]["persons"]),
    ("households", N_("Households served"), lambda f: f["served"]["households"]),
    ("services", N_("Services delivered"), lambda f: sum(f["services_by_type"].values())),
    ("referrals", N_("Referrals"), lambda f: sum(f["referrals_by_destination"].values())),
    ("deadlines_met", N_("Deadlines met"), lambda f: sum(s["met"] for s in f["deadlines"].values())),
    ("deadlines_missed", N_("Deadlines missed"), lambda f: sum(s["missed"] for s in f["deadlines"].values())),
    ("escalations", N_("Escalations"), lambda f: f["escalations"]),
)

#: (key, title, the figure's dict of item → number, the vocabulary of its items, a fixed order or None)
BREAKDOWNS = (
    ("closed_by_reason", N_("Cases closed, by reason"), lambda f: f["closed_by_reason"], "closure_reason", None),
    ("open_by_stage", N_("Cases open at the month's end, by stage"), lambda f: f["open_by_stage"], "stage",
     STAGE_ORDER),
    ("open_by_risk", N_("Cases open at the month's end, by risk level"), lambda f: f["open_by_risk"], "risk",
     RISK_ORDER),
    ("persons_by_category", N_("People served, by client category"),
     lambda f: {c: v["persons"] for c, v in f["served"]["by_category"].items()}, "category", None),
    ("households_by_category", N_("Households served, by client category"),
     lambda f: {c: v["households"] for c, v in f["served"]["by_category"].items()}, "category", None),
    ("services_by_type", N_("Services delivered, by type"), lambda f: f["services_by_type"], "service_type", None),
    ("referrals_by_destination", N_("Referrals, by destination"), lambda f: f["referrals_by_destination"],
     "referral", None),
    ("deadlines_met_by_stage", N_("Deadlines met, by stage"),
     lambda f: {s: v["met"] for s, v in f["deadlines"].items()}, "stage", STAGE_ORDER),
    ("deadlines_missed_by_stage", N_("Deadlines missed, by stage"),
     lambda f: {s: v["missed"] for s, v in f["deadlines"].items()}, "stage", STAGE_ORDER),
    ("working_days_by_stage", N_("Average working days per stage"), lambda f: f["working_days_by_stage"], "stage",
     STAGE_ORDER),
    ("escalations_by_stage", N_("Escalations, by stage"), lambda f: f["escalations_by_stage"], "stage",
     STAGE_ORDER),
)

LEVEL_NAMES = {"worker": N_("Social worker"), "mahalla": N_("Mahalla"), "district": N_("District"),
               "region": N_("Region")}


def layout(report: dict, *, translate: Callable[[str], str], label: Callable[[str, str], str]) -> dict:
    """The report's tables: titles by ``translate`` (a catalogue lookup in the reader's language), items by
    ``label(vocabulary, code)``: "stage", "risk", "closure_reason", "category", "service_type", "referral"."""
    groups = report["groups"]
    group_names = [g["name"] or translate(N_("Not assigned")) for g in groups]
    total = translate(N_("Total"))
    summary = {
        "columns": [translate(LEVEL_NAMES[report["level"]])] + [translate(title) for _, title, _ in SUMMARY],
        "keys": [key for key, _, _ in SUMMARY],
        "rows": [[name] + [pick(g["figures"]) for _, _, pick in SUMMARY] for name, g in zip(group_names, groups)],
        "total": [total] + [pick(report["totals"]) for _, _, pick in SUMMARY],
    }
    breakdowns = []
    for key, title, pick, vocabulary, order in BREAKDOWNS:
        per_group = [pick(g["figures"]) for g in groups]
        overall = pick(report["totals"])
        items = _items(overall, per_group, order)
        breakdowns.append({
            "key": key, "title": translate(title),
            "columns": [""] + group_names + [total],
            "rows": [{"code": item, "label": translate(N_("Unknown")) if item == UNKNOWN else label(vocabulary, item),
                      "values": [figures.get(item, 0) for figures in per_group], "total": overall.get(item, 0),
                      "value": overall.get(item, 0)}  # the chart's bar
                     for item in items],
        })
    return {"summary": summary, "breakdowns": breakdowns, "group_names": group_names}


def _items(overall: dict, per_group: list[dict], order) -> list[str]:
    present = set(overall).union(*per_group) if per_group else set(overall)
    if order:
        return [item for item in order if item in present] + sorted(present - set(order))
    return sorted(present, key=lambda item: (-overall.get(item, 0), item))


def _flat_columns(table: dict) -> list[tuple[str, Callable[[int], object]]]:
    """Every figure as a column over row index (-1: the total): the summary's, then every breakdown item."""
    columns = [(title, (lambda i, n=n: table["summary"]["total"][n] if i < 0 else table["summary"]["rows"][i][n]))
               for n, title in enumerate(table["summary"]["columns"]) if n]
    for breakdown in table["breakdowns"]:
        for row in breakdown["rows"]:
            columns.append((f"{breakdown['title']}: {row['label']}",
                            lambda i, row=row: row["total"] if i < 0 else row["values"][i]))
    return columns


def to_csv(table: dict) -> bytes:
    """The report as one wide CSV (UTF-8 with a byte-order mark, which spreadsheet programs need to read
    Cyrillic and Uzbek letters right)."""
    out = io.StringIO()
    writer = csv.writer(out)
    columns = _flat_columns(table)
    writer.writerow([table["summary"]["columns"][0]] + [title for title, _ in columns])
    for i, name in enumerate(table["group_names"]):
        writer.writerow([name] + [value(i) for _, value in columns])
    writer.writerow([table["summary"]["total"][0]] + [value(-1) for _, value in columns])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(table: dict, *, title: str, subtitle: str, summary_sheet: str) -> bytes:
    """The report as a workbook: the summary first, then a sheet per breakdown that has any figure."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    sheet.title = _sheet_name(summary_sheet, set())
    bold = Font(bold=True)
    _write_sheet(sheet, title, subtitle, table["summary"]["columns"], table["summary"]["rows"] +
                 [table["summary"]["total"]], bold, total_row=True)
    used = {sheet.title}
    for breakdown in table["breakdowns"]:
        if not breakdown["rows"]:
            continue
        sheet = book.create_sheet(_sheet_name(breakdown["title"], used))
        used.add(sheet.title)
        rows = [[row["label"], *row["values"], row["total"]] for row in breakdown["rows"]]
        _write_sheet(sheet, breakdown["title"], subtitle, breakdown["columns"], rows, bold, total_row=False)
    for sheet in book.worksheets:
        for n, cells in enumerate(sheet.iter_cols(min_row=3), start=1):
            width = max((len(str(c.value)) for c in cells if c.value is not None), default=8)
            sheet.column_dimensions[get_column_letter(n)].width = min(max(width + 2, 8), 60)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _write_sheet(sheet, title, subtitle, columns, rows, bold, *, total_row) -> None:
    from openpyxl.styles import Font
    sheet.append([title])
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.append([subtitle])
    sheet.append(columns)
    for cell in sheet[3]:
        cell.font = bold
    for row in rows:
        sheet.append(row)
    for cell in (sheet[sheet.max_row] if total_row else ()):
        cell.font = bold
    if not total_row:  # the total column
        for (cell,) in sheet.iter_rows(min_row=3, min_col=len(columns), max_col=len(columns)):
            cell.font = bold
    sheet.freeze_panes = "B4"


def _sheet_name(title: str, used: set) -> str:
    """Excel's rules: at most 31 characters, none of []:*?/\\, unique in the book."""
    name = "".join(" " if ch in "[]:*?/\\" else ch for ch in title).strip()[:31] or "Sheet"
    candidate, n = name, 2
    while candidate in used:
        suffix = f" ({n})"
        candidate, n = name[: 31 - len(suffix)] + suffix, n + 1
    return candidate
