"""Monthly reports at national scale: ``reports.monthly`` for one month over 1,000,000 cases (two years of them).

    .venv/bin/python bench/reports.py --postgres                     # 1,000,000 cases on a throw-away PostgreSQL
    .venv/bin/python bench/reports.py --postgres --cases 100000      # a quicker run
    .venv/bin/python bench/reports.py --cases 100000                 # SQLite, for information
    .venv/bin/python bench/reports.py --postgres --without ix_cases_closed_at --without ix_tasks_completed_at
                                     # measure first without those indexes, then with them (one load)
    .venv/bin/python bench/reports.py --url postgresql+psycopg://…   # an existing database: load it if empty,
                                                                     # then measure (for development)

The load is written in bulk, not through the services: the organisation of ``bench/tasklists.py`` (14 regions,
200 districts, about 9,400 mahallas, a social worker for every two mahallas, two supervisors and a centre head per
district), then the cases — generated in Python into narrow staging tables (``COPY`` on PostgreSQL,
``executemany`` on SQLite) and spread into the real tables with ``INSERT … SELECT``, joined to the templates of a
real case walked through the default process (state document, task titles, stages, deadline records).
Rows are written in the order things happened, as in production (case ids in opening order, tasks by opening
instant, audit rows by instant), so that the tables' physical order is a real one. Secondary indexes are dropped during the load and built again after it, as a restore would.

Each case is opened at some instant of the two years before "now" (more in recent months), walks the plain
path of the default process (identification, assessment, recognition of need, plan, approval, then one to three
rounds of delivery and monitoring, closure proposal and approval) at a log-normal pace per case and per step;
10 % are closed after the recognition as not in need, the rest that reach the end are closed with a reason
(``case.closed`` audit row). Tasks not finished by "now" are open; so is their case. Every task has a due instant
from its template's deadline; tasks completed more than two days late got an escalation task (raised at the due
instant plus two days, assigned to nobody, about the late task). Audit rows: ``case.opened``, ``task.opened`` and
``task.completed`` for every task (the delivery steps with ``delivered[].service_type`` and ``referrals``, a few
register steps with ``referred_to``, decisions with ``decision``), ``case.closed`` with the reason. Cases carry
one or two client categories, a risk level once assessed, a person (5 % are repeat clients) or a household (15 %).

Then ``reports.monthly`` is timed for the last full month before "now" (October 2026, Asia/Tashkent) as the
methodologist asks for it: the nation by region and by district, the largest region by district, the largest
district by mahalla and by worker; each several times (p50/p95). Every SQL statement of each report is run once
more under ``EXPLAIN (ANALYZE, BUFFERS)`` (PostgreSQL) and its plan and time are kept in the JSON result.
The figures are checked against counts made directly in SQL (opened, closed, open at the end of the month).
"""
from __future__ import annotations

import json
import math
import random
import re
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import START, Databases, Run, base_parser, make_engine, profiled, summary  # noqa: E402
from bench.tasklists import DISTRICTS, PG_CONF, REGIONS, Statements, national_units, templates  # noqa: E402

from sqlalchemy import text  # noqa: E402

from engine.clock import FakeClock  # noqa: E402
from engine.services import reports  # noqa: E402
from engine.services.actors import Actor  # noqa: E402

UTC = timezone.utc
#: "Now" for the generated world (a Wednesday); the cases were opened over the two years before it.
NOW = datetime(2026, 11, 4, 6, 0, tzinfo=UTC)
FIRST = datetime(2024, 11, 1, 0, 0, tzinfo=UTC)
YEAR, MONTH = 2026, 10  # the month reported: the last full one before NOW
ZONE = "Asia/Tashkent"
# the country of bench/tasklists.py: REGIONS, DISTRICTS, MAHALLAS
#: A task takes this share of its deadline (median; the pace varies per case and per task, log-normally).
SHARE_OF_DEADLINE = 0.4
DELIVERY, MONITORING = 5, 6
CLOSE_REASONS = {"goals_achieved": 60, "moved_away": 8, "refused_services": 7, "deceased": 6, "transferred": 8,
                 "no_longer_eligible": 11}
CATEGORIES = {"elderly_alone": 25, "disability": 18, "child_at_risk": 10, "domestic_violence": 6, "low_income": 22,
              "homeless": 2, "large_family": 9, "unemployed": 6, "other": 2}
SERVICES = {"household": 25, "medical": 20, "psychological": 15, "pedagogical": 8, "legal": 8, "labour": 6,
            "urgent": 3, "material_aid": 15}
REFERRALS = {"health": 35, "employment": 15, "education": 10, "legal_aid": 10, "guardianship": 6,
             "commission_minors": 4, "ngo": 15, "other": 5}
URGENT = {"police": 3, "guardianship": 2, "health": 4, "commission_minors": 1}
RISKS = {"none": 10, "low": 35, "medium": 40, "high": 15}
CHUNK = 50_000  # cases per staging batch


def _pick(rng, table: dict):
    return rng.choices(list(table), weights=list(table.values()))[0]


# --- writing rows, one way per database --------------------------------------------------------------------

class Writer:
    """Bulk rows into a table: ``COPY`` on PostgreSQL (as the superuser, foreign-key triggers off for the load),
    ``executemany`` on SQLite. Instants are given as aware UTC datetimes; SQLite gets them as SQLAlchemy stores
    them (naive UTC text with microseconds)."""

    def __init__(self, url: str, admin_url: str | None):
        self.postgres = url.startswith("postgresql")
        if self.postgres:
            import psycopg
            from sqlalchemy.engine import make_url
            target = make_url(url).database
            admin = make_url(admin_url).set(database=target)
            self.conn = psycopg.connect(host=admin.host, port=admin.port, user=admin.username,
                                        password=admin.password, dbname=target)
            self.conn.execute("SET session_replication_role = replica")
            self.conn.execute("SET work_mem = '256MB'")
            self.json = "::json"
        else:
            import sqlite3
            self.conn = sqlite3.connect(url.split("sqlite:///", 1)[1])
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=OFF")
            self.conn.execute("PRAGMA foreign_keys=OFF")
            self.json = ""

    def value(self, v):
        if isinstance(v, datetime) and not self.postgres:
            return v.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
        return v

    def rows(self, table: str, columns: list[str], rows) -> int:
        n = 0
        if self.postgres:
            with self.conn.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    n += 1
        else:
            batch = []
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
            for row in rows:
                batch.append(tuple(self.value(v) for v in row))
                if len(batch) >= 20_000:
                    self.conn.executemany(sql, batch)
                    n += len(batch)
                    batch = []
            self.conn.executemany(sql, batch)
            n += len(batch)
        return n

    def sql(self, statement: str, params=()):
        cur = self.conn.cursor()
        cur.execute(statement.replace("%J", self.json), params)
        return cur

    def commit(self):
        self.conn.commit()

    def close(self):
        self.conn.close()


STAGING = {
    "bench_templates": "step int PRIMARY KEY, state text, bpmn_id text, title text, lane text, form_key text, "
                       "stage text, deadline text, details text",
    "bench_cases": "id int PRIMARY KEY, kind text, person_id int, household_id int, owner_id int, mahalla_id int, "
                   "district_id int, step int, opened_at timestamptz, updated_at timestamptz, "
                   "closed_at timestamptz, reason text, risk text, categories text",
    "bench_tasks": "id text, case_id int, step int, kind text, state text, assignee_id int, completed_by int, "
                   "district_id int, mahalla_id int, created_at timestamptz, due_at timestamptz, "
                   "completed_at timestamptz, escalates text, extra text",
}


# --- the organisation ----------------------------------------------------------------------------------------

class World:
    def __init__(self, writer: Writer, seed: int = 11):
        self.w, self.rng = writer, random.Random(seed)
        self.recent_persons: list[int] = []

    def build_org(self) -> dict:
        rng, w = self.rng, self.w
        base = w.sql("SELECT COALESCE(MAX(id), 0) FROM org_units").fetchone()[0] + 1000
        password_hash = w.sql("SELECT password_hash FROM users WHERE username = 'worker1'").fetchone()[0]
        regions, districts, units, mahallas = national_units(rng, base)
        w.rows("org_units", ["id", "kind", "name", "parent_id", "calendar"], units)
        uid = w.sql("SELECT COALESCE(MAX(id), 0) FROM users").fetchone()[0] + 1000
        users, links = [], []
        self.workers, self.supervisors, self.regions = [], {}, dict(zip(districts, [regions[n % REGIONS]
                                                                                    for n in range(DISTRICTS)]))
        by_district: dict[int, list[int]] = {}
        for m, d in mahallas:
            by_district.setdefault(d, []).append(m)
        for n, d in enumerate(districts):
            mine = by_district[d]
            for k in range(math.ceil(len(mine) / 2)):
                users.append((uid, f"w{n + 1}_{k + 1}", f"Ishchi {n + 1}-{k + 1}", "social_worker", d))
                pair = mine[2 * k:2 * k + 2]
                links += [(uid, m) for m in pair]
                self.workers.append((uid, d, pair))
                uid += 1
            self.supervisors[d] = []
            for s in range(2):
                users.append((uid, f"s{n + 1}_{s + 1}", f"Nazoratchi {n + 1}-{s + 1}", "supervisor", d))
                self.supervisors[d].append(uid)
                uid += 1
            users.append((uid, f"h{n + 1}", f"Rahbar {n + 1}", "center_head", d))
            uid += 1
        w.rows("users", ["id", "username", "full_name", "password_hash", "role", "district_id", "language",
                         "is_active", "created_at"],
               ((u, name, full, password_hash, role, d, "uz", True, w.value(FIRST)) for u, name, full, role, d in users))
        w.rows("user_mahallas", ["user_id", "mahalla_id"], links)
        if w.postgres:
            for table in ("org_units", "users"):
                w.sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))")
        w.commit()
        self.weights = [rng.lognormvariate(0, 0.6) for _ in self.workers]
        return {"regions": REGIONS, "districts": DISTRICTS, "mahallas": len(mahallas), "users": len(users),
                "social_workers": len(self.workers)}

    # --- the cases ---------------------------------------------------------------------------------------------

    def load(self, n_cases: int, steps: list[dict], version_id: int) -> dict:
        w, rng = self.w, self.rng
        began = time.monotonic()
        for name, columns in STAGING.items():
            w.sql(f"DROP TABLE IF EXISTS {name}")
            kind = "UNLOGGED TABLE" if w.postgres else "TABLE"
            w.sql(f"CREATE {kind} {name} ({columns})")
        w.rows("bench_templates", ["step", "state", "bpmn_id", "title", "lane", "form_key", "stage", "deadline",
                                   "details"],
               ((n, s["state"], s["bpmn_id"], s["title"], s["lane"], s["form_key"], s["stage"], s["deadline"],
                 json.dumps({"bpmn_id": s["bpmn_id"], "title": s["title"], "stage": s["stage"]},
                            ensure_ascii=False)[:-1])
                for n, s in enumerate(steps)))
        dropped = self._drop_indexes()
        first_id = (w.sql("SELECT COALESCE(MAX(id), 0) FROM cases").fetchone()[0] or 0) + 1
        span = (NOW - FIRST).total_seconds()
        # more cases in recent months: the density grows linearly to twice the first month's; ids in opening order
        openings = sorted(span * (math.sqrt(1 + 3 * rng.random()) - 1) for _ in range(n_cases))
        made = {"cases": 0, "tasks": 0}
        for chunk_start in range(0, n_cases, CHUNK):
            case_rows, task_rows = [], []
            for n in range(chunk_start, min(n_cases, chunk_start + CHUNK)):
                self._case(first_id + n, FIRST + timedelta(seconds=openings[n]), steps, case_rows, task_rows)
            made["cases"] += w.rows("bench_cases", ["id", "kind", "person_id", "household_id", "owner_id",
                                                    "mahalla_id", "district_id", "step", "opened_at", "updated_at",
                                                    "closed_at", "reason", "risk", "categories"], case_rows)
            made["tasks"] += w.rows("bench_tasks", ["id", "case_id", "step", "kind", "state", "assignee_id",
                                                    "completed_by", "district_id", "mahalla_id", "created_at",
                                                    "due_at", "completed_at", "escalates", "extra"], task_rows)
            w.commit()
            print(f"#   staged {made['cases']:,} cases, {made['tasks']:,} tasks "
                  f"({time.monotonic() - began:.0f} s)", flush=True)
        staged = time.monotonic() - began
        self._spread(version_id)
        w.commit()
        spread = time.monotonic() - began - staged
        for name in STAGING:
            w.sql(f"DROP TABLE {name}")
        w.commit()
        self._build_indexes(dropped)
        indexed = time.monotonic() - began - staged - spread
        return {**made, "seconds": round(time.monotonic() - began, 1), "staging_seconds": round(staged, 1),
                "insert_select_seconds": round(spread, 1), "index_seconds": round(indexed, 1)}

    def _case(self, case_id, opened, steps, case_rows, task_rows):
        rng = self.rng
        owner, district, pair = rng.choices(self.workers, weights=self.weights)[0]
        mahalla = rng.choice(pair)
        household = rng.random() < 0.15
        person_id = household_id = None
        if household:
            household_id = case_id
        elif self.recent_persons and rng.random() < 0.05:
            person_id = rng.choice(self.recent_persons)  # a repeat client
        else:
            person_id = case_id
            self.recent_persons.append(case_id)
            if len(self.recent_persons) > 2000:
                del self.recent_persons[:1000]
        pace = rng.lognormvariate(0, 0.5)
        rounds = rng.choices((1, 2, 3), weights=(65, 27, 8))[0]
        path = [0, 1, 2]
        declined = rng.random() < 0.10
        if not declined:
            path += [3, 4] + [DELIVERY, MONITORING] * rounds + [7, 8]
        last_monitoring = max((i for i, s in enumerate(path) if s == MONITORING), default=-1)
        supervisors = self.supervisors[district]
        at, step, closed_at, reason = opened, 0, None, None
        urgent = rng.random() < 0.04
        for i, step in enumerate(path):
            created = at
            due = created + timedelta(days=steps[step]["days"])
            done = created + timedelta(days=steps[step]["days"] * SHARE_OF_DEADLINE * pace * rng.lognormvariate(0, 0.6))
            assignee = owner if steps[step]["lane"] == "social_worker" else rng.choice(supervisors)
            task_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            if done >= NOW:
                task_rows.append((task_id, case_id, step, "process", "open", assignee, None, district, mahalla,
                                  created, due, None, None, None))
                break
            extra = None
            if step == 0 and urgent:
                extra = '"referred_to": ' + json.dumps(sorted({_pick(rng, URGENT) for _ in range(2)}))
            elif step == DELIVERY:
                delivered = [{"service_type": _pick(rng, SERVICES)} for _ in range(rng.choice((1, 1, 2, 3)))]
                referrals = sorted({_pick(rng, REFERRALS) for _ in range(rng.choice((0, 0, 1, 1, 2)))})
                extra = f'"delivered": {json.dumps(delivered)}, "referrals": {json.dumps(referrals)}'
            elif step == 2:
                extra = f'"decision": "{"rejected" if declined else "approved"}"'
            elif step in (4, 8):
                extra = '"decision": "approved"'
            elif step == MONITORING:
                extra = f'"outcome": "{"close" if i == last_monitoring else "continue"}"'
            task_rows.append((task_id, case_id, step, "process", "completed", assignee, assignee, district, mahalla,
                              created, due, done, None, extra))
            if done > due + timedelta(days=2):  # the ladder's first rung: the district's supervisors
                task_rows.append((str(uuid.UUID(int=rng.getrandbits(128), version=4)), case_id, step, "escalation",
                                  "completed", rng.choice(supervisors), None, district, mahalla,
                                  due + timedelta(days=2), None, done, task_id, None))
            at = done + timedelta(minutes=rng.randint(1, 90))
            closed_at = done
        else:
            reason = "not_in_need" if declined else _pick(rng, CLOSE_REASONS)
        if reason is None:
            closed_at = None
        risk = _pick(rng, RISKS) if step >= 1 or closed_at else None
        categories = json.dumps(sorted({_pick(rng, CATEGORIES) for _ in range(rng.choice((1, 1, 2)))}))
        updated = closed_at or created
        case_rows.append((case_id, "household" if household else "person", person_id, household_id, owner, mahalla,
                          district, step, opened, updated, closed_at, reason, risk, categories))

    def _spread(self, version_id: int):
        w = self.w
        t0 = time.monotonic()
        w.sql("""INSERT INTO persons (id, full_name, search_key, created_at)
                 SELECT id, 'Mijoz ' || id, 'mijoz ' || id, opened_at FROM bench_cases
                 WHERE kind = 'person' AND person_id = id""")
        w.sql("""INSERT INTO households (id, name, created_at)
                 SELECT id, 'Xonadon ' || id, opened_at FROM bench_cases WHERE kind = 'household'""")
        w.sql(f"""INSERT INTO cases (id, subject_kind, person_id, household_id, subject_name, search_key, mahalla_id,
                    district_id, owner_id, channel, summary, stage, status, risk_level, categories,
                    definition_version_id, state, opened_at, updated_at, closed_at, row_version)
                  SELECT b.id, b.kind, b.person_id, b.household_id, 'Mijoz ' || b.id, 'mijoz ' || b.id,
                    b.mahalla_id, b.district_id, b.owner_id, 'mahalla',
                    'Referred for help with living conditions and care.', t.stage,
                    CASE WHEN b.closed_at IS NULL THEN 'open' ELSE 'closed' END, b.risk, b.categories%J,
                    {int(version_id)}, t.state, b.opened_at, b.updated_at, b.closed_at, 1
                  FROM bench_cases b JOIN bench_templates t ON t.step = b.step""")
        print(f"#   cases in ({time.monotonic() - t0:.0f} s)", flush=True)
        w.sql("""INSERT INTO tasks (id, case_id, bpmn_id, title, lane, role, assignee_id, district_id, mahalla_id,
                    form_key, stage, state, created_at, due_at, completed_at, completed_by_id, kind, deadline,
                    escalation_level, escalates_task_id, rung, row_version)
                 SELECT b.id, b.case_id, t.bpmn_id, t.title, t.lane,
                    CASE WHEN b.kind = 'escalation' THEN 'supervisor' ELSE t.lane END,
                    b.assignee_id, b.district_id, b.mahalla_id,
                    CASE WHEN b.kind = 'process' THEN t.form_key END, t.stage, b.state, b.created_at, b.due_at,
                    b.completed_at, b.completed_by, b.kind,
                    CASE WHEN b.kind = 'process' THEN t.deadline%J END, 0, b.escalates,
                    CASE WHEN b.kind = 'escalation' THEN 1 END, 1
                 FROM bench_tasks b JOIN bench_templates t ON t.step = b.step
                 ORDER BY b.created_at""")
        print(f"#   tasks in ({time.monotonic() - t0:.0f} s)", flush=True)
        w.sql("""INSERT INTO audit_events (at, actor_id, action, case_id, task_id, details)
                 SELECT at, actor_id, action, case_id, task_id, details%J FROM (
                   SELECT opened_at AS at, owner_id AS actor_id, 'case.opened' AS action, id AS case_id,
                     NULL AS task_id, '{}' AS details
                   FROM bench_cases
                   UNION ALL
                   SELECT b.created_at, NULL, 'task.opened', b.case_id, b.id, t.details || '}'
                   FROM bench_tasks b JOIN bench_templates t ON t.step = b.step
                   UNION ALL
                   SELECT b.completed_at, b.completed_by, 'task.completed', b.case_id, b.id,
                     t.details || COALESCE(', ' || b.extra, '') || '}'
                   FROM bench_tasks b JOIN bench_templates t ON t.step = b.step
                   WHERE b.kind = 'process' AND b.state = 'completed'
                   UNION ALL
                   SELECT closed_at, owner_id, 'case.closed', id, NULL, '{"reason": "' || reason || '"}'
                   FROM bench_cases WHERE closed_at IS NOT NULL) AS events
                 ORDER BY at""")
        print(f"#   audit rows in ({time.monotonic() - t0:.0f} s)", flush=True)
        if w.postgres:
            for table in ("cases", "persons", "households", "audit_events"):
                w.sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))")

    TABLES = ("cases", "tasks", "audit_events", "persons", "households")

    def _drop_indexes(self) -> list[tuple[str, str]]:
        """Drop the secondary (non-constraint) indexes of the loaded tables; their definitions, to build again."""
        w = self.w
        names = ", ".join(f"'{t}'" for t in self.TABLES)
        if w.postgres:
            found = w.sql(f"""SELECT i.indexname, i.indexdef FROM pg_indexes i
                              WHERE i.schemaname = 'public' AND i.tablename IN ({names})
                                AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)""").fetchall()
        else:
            found = w.sql(f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name IN ({names}) "
                          "AND sql IS NOT NULL").fetchall()
        for name, _ in found:
            w.sql(f'DROP INDEX "{name}"')
        w.commit()
        return found

    def _build_indexes(self, found):
        w = self.w
        t0 = time.monotonic()
        if w.postgres:
            w.sql("SET maintenance_work_mem = '512MB'")
        for _, definition in found:
            w.sql(definition)
            w.commit()
        print(f"#   {len(found)} indexes built ({time.monotonic() - t0:.0f} s)", flush=True)


def finish_load(url: str, writer: Writer):
    """VACUUM ANALYZE (PostgreSQL: and a checkpoint) so that the timed reports do not pay for the load."""
    if writer.postgres:
        writer.conn.autocommit = True
        for table in ("cases", "tasks", "audit_events", "org_units", "users", "persons", "households"):
            writer.sql(f"VACUUM ANALYZE {table}")
        writer.sql("CHECKPOINT")
        writer.conn.autocommit = False
    else:
        writer.sql("ANALYZE")
        writer.commit()
        writer.sql("PRAGMA wal_checkpoint(TRUNCATE)")


def sizes(engine) -> dict:
    postgres = engine.db.engine.dialect.name == "postgresql"
    out = {}
    with engine.db.engine.connect() as conn:
        for table in ("cases", "tasks", "audit_events"):
            out[f"{table}_rows"] = conn.execute(text(f"SELECT count(*) FROM {table}")).scalar()
            if postgres:
                row = conn.execute(text(f"SELECT pg_table_size('{table}'), pg_indexes_size('{table}')")).one()
                out[f"{table}_mb"] = round(row[0] / 2**20)
                out[f"{table}_indexes_mb"] = round(row[1] / 2**20)
        out["open_cases"] = conn.execute(text("SELECT count(*) FROM cases WHERE status = 'open'")).scalar()
        out["escalation_tasks"] = conn.execute(text("SELECT count(*) FROM tasks WHERE kind = 'escalation'")).scalar()
    return out


# --- what is timed -------------------------------------------------------------------------------------------

def targets(engine) -> dict:
    """The reports asked for: (label, level, unit_id)."""
    with engine.db.engine.connect() as conn:
        region = conn.execute(text("SELECT u.parent_id, count(*) FROM cases c JOIN org_units u ON u.id = c.district_id "
                                   "GROUP BY u.parent_id ORDER BY count(*) DESC LIMIT 1")).one()
        district = conn.execute(text("SELECT district_id, count(*) FROM cases GROUP BY district_id "
                                     "ORDER BY count(*) DESC LIMIT 1")).one()
    return {"national_by_region": ("region", None, None), "national_by_district": ("district", None, None),
            "region_by_district": ("district", region[0], region[1]),
            "district_by_mahalla": ("mahalla", district[0], district[1]),
            "district_by_worker": ("worker", district[0], district[1])}


def check(engine, report: dict, unit_id) -> None:
    """The report's opened/closed/open-at-end totals against plain SQL counts over the scope."""
    start, end = datetime.fromisoformat(report["from"]), datetime.fromisoformat(report["until"])
    scope, params = "", {"s": start, "e": end}
    if unit_id is not None:
        scope = " AND (district_id = :u OR district_id IN (SELECT id FROM org_units WHERE parent_id = :u))"
        params["u"] = unit_id
    with engine.db.read() as session:
        opened = session.execute(text(f"SELECT count(*) FROM cases WHERE opened_at >= :s AND opened_at < :e{scope}"),
                                 params).scalar()
        closed = session.execute(text(f"SELECT count(*) FROM cases WHERE closed_at >= :s AND closed_at < :e{scope}"),
                                 params).scalar()
        open_end = session.execute(text("SELECT count(*) FROM cases WHERE opened_at < :e AND (closed_at IS NULL OR "
                                        f"closed_at >= :e){scope}"), params).scalar()
    totals = report["totals"]
    assert (totals["opened"], totals["closed"], totals["open_at_end"]) == (opened, closed, open_end), \
        (totals["opened"], totals["closed"], totals["open_at_end"], opened, closed, open_end)
    assert sum(totals["closed_by_reason"].values()) == closed and sum(totals["open_by_stage"].values()) == open_end


def explain(engine, statement, params, settings=()) -> str:
    """``EXPLAIN (ANALYZE, BUFFERS)`` of one statement, in a transaction with the report's own settings."""
    raw = engine.db.engine.raw_connection()
    try:
        cur = raw.cursor()
        for setting in settings:
            cur.execute(setting)
        cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, params)
        plan = "\n".join(r[0] for r in cur.fetchall())
        raw.rollback()
        return plan
    finally:
        raw.close()


def measure(engine, who: Actor, asked: dict, repeat: int, statements: Statements | None, profile: str | None,
            postgres: bool) -> dict:
    results = {}
    for label, (level, unit_id, unit_cases) in asked.items():
        call = lambda: reports.monthly(engine, who, year=YEAR, month=MONTH, level=level, unit_id=unit_id,  # noqa
                                       time_zone=ZONE)
        out = call()  # warm-up
        check(engine, out, unit_id)
        times = []
        with profiled(bool(profile), f"{profile}-{label}" if profile else ""):
            for _ in range(repeat):
                began = time.perf_counter()
                call()
                times.append(time.perf_counter() - began)
        s = summary(times)
        plans = []
        if statements is not None and postgres:
            sent = statements.capture(call)
            settings = [st for st, _ in sent if st.lstrip().upper().startswith("SET ")]  # as the report ran
            for statement, params in sent:
                if not statement.lstrip().upper().startswith(("SELECT", "WITH")):
                    continue
                plan = explain(engine, statement, params, settings)
                found = re.search(r"Execution Time: ([0-9.]+) ms", plan)
                plans.append({"ms": float(found.group(1)) if found else None, "sql": statement, "plan": plan})
        totals = out["totals"]
        figures = {k: totals[k] for k in ("opened", "closed", "open_at_end", "escalations")}
        figures["served_persons"] = totals["served"]["persons"]
        figures["services"] = sum(totals["services_by_type"].values())
        figures["deadlines"] = sum(v["met"] + v["missed"] for v in totals["deadlines"].values())
        results[label] = {"level": level, "unit_id": unit_id, "unit_cases": unit_cases, "groups": len(out["groups"]),
                          **s, "figures": figures, "totals": totals,
                          "sql_ms": round(sum(p["ms"] or 0 for p in plans), 1),
                          "statements": [{"ms": p["ms"], "sql": p["sql"], "plan": p["plan"]} for p in plans]}
        slow = sorted(plans, key=lambda p: -(p["ms"] or 0))[:3]
        print(f"  {label:<22} {len(out['groups']):>4} groups  p50 {s['p50_ms'] / 1000:7.2f} s  p95 "
              f"{s['p95_ms'] / 1000:7.2f} s  (n={s['n']})  {figures}", flush=True)
        for p in slow:
            print(f"      {p['ms'] / 1000:6.2f} s  {_short(p['sql'])}", flush=True)
    return results


def _short(sql: str) -> str:
    sql = " ".join(sql.split())
    return sql[:150] + ("…" if len(sql) > 150 else "")


def methodologist(engine) -> Actor:
    from engine.db.models import User
    from sqlalchemy import select
    with engine.db.read() as session:
        return Actor.of(session.scalar(select(User).where(User.username == "methodologist1")))


def main() -> None:
    parser = base_parser(__doc__)
    parser.add_argument("--cases", type=int, help="cases to generate (default 1,000,000; --quick 20,000)")
    parser.add_argument("--repeat", type=int, default=5, help="timed calls per report (default 5)")
    parser.add_argument("--without", action="append", default=[], metavar="INDEX",
                        help="measure first with this index dropped, then build it again and measure (repeatable)")
    parser.add_argument("--url", help="an existing database (development): loaded if it has no generated cases")
    parser.add_argument("--admin-url", help="a superuser's URL of the --url server (the load runs as superuser)")
    parser.add_argument("--load-only", action="store_true", help="load, then stop (with --url)")
    args = parser.parse_args()
    n_cases = args.cases or (20_000 if args.quick else 1_000_000)
    postgres = args.postgres or (args.url or "").startswith("postgresql")
    run = Run("reports", "postgresql" if postgres else "sqlite", args, quick=args.quick)
    for secret in (args.url, args.admin_url):  # no addresses of this machine in the result
        if secret:
            run.command = run.command.replace(secret, "<url>")
            run.args = {k: "<url>" if v == secret else v for k, v in run.args.items()}
    with Databases(postgres=postgres and not args.url, extra_conf=PG_CONF) as dbs:
        if args.url:
            url, admin_url = args.url, args.admin_url or args.url
        else:
            url, admin_url = dbs.fresh(), dbs.admin_url
        run.machine(url if postgres else None)
        engine = make_engine(url, FakeClock(START))
        with engine.db.engine.connect() as conn:
            loaded = conn.execute(text("SELECT count(*) FROM cases")).scalar()
            version_id = conn.execute(text("SELECT MAX(id) FROM definition_versions")).scalar()
        run.results = {"pg_conf": PG_CONF if postgres else None, "now": NOW, "month": f"{YEAR}-{MONTH:02d}",
                       "time_zone": ZONE, "repeat": args.repeat}
        if loaded < 1000:
            steps = templates(engine)
            writer = Writer(url, admin_url)
            world = World(writer)
            run.results["organisation"] = world.build_org()
            print(f"# organisation: {run.results['organisation']}", flush=True)
            run.results["load"] = world.load(n_cases, steps, version_id)
            finish_load(url, writer)
            writer.close()
            engine.db.dispose()
            print(f"# loaded: {run.results['load']}", flush=True)
        run.results["data"] = sizes(engine)
        print(f"# data: {run.results['data']}", flush=True)
        if args.load_only:
            return
        engine.clock.set(NOW)
        who = methodologist(engine)
        asked = targets(engine)
        statements = Statements(engine) if postgres else None
        profile = "reports" if args.profile else None
        if args.without:
            with engine.db.engine.connect() as conn:
                kept = dict(conn.execute(text("SELECT indexname, indexdef FROM pg_indexes") if postgres else
                                         text("SELECT name, sql FROM sqlite_master WHERE type = 'index'")).all())
                kept = {k: v for k, v in kept.items() if k in args.without}
                for name in kept:
                    conn.execute(text(f'DROP INDEX "{name}"'))
                conn.commit()
            print(f"## without {', '.join(kept)}", flush=True)
            run.results["without_indexes"] = {"dropped": kept,
                                              "reports": measure(engine, who, asked, max(1, args.repeat // 2),
                                                                 statements, None, postgres)}
            with engine.db.engine.connect() as conn:
                for definition in kept.values():
                    conn.execute(text(definition))
                conn.commit()
            engine.db.dispose()
        print("## reports (schema at head)", flush=True)
        run.results["reports"] = measure(engine, who, asked, args.repeat, statements, profile, postgres)
        national = max(run.results["reports"][k]["p95_ms"] for k in ("national_by_region", "national_by_district"))
        run.target("national_month_p95_s", f"national month, p95 (s), {n_cases:,} cases", 10.0,
                   round(national / 1000, 2))
        engine.db.dispose()
    run.finish(suffix="" if n_cases == 1_000_000 or args.quick else f"-{n_cases // 1000}k")


if __name__ == "__main__":
    main()
