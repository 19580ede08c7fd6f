"""Storage: bytes per case at each stage of the default process, and for the reference process open and done.

    .venv/bin/python bench/storage.py                # SQLite
    .venv/bin/python bench/storage.py --postgres     # a throw-away PostgreSQL
    .venv/bin/python bench/storage.py --quick

A batch of cases walks the plain path of the default process with the demo's sample answers (register the
referral, assess, recognise the need, plan, approve the plan, deliver, monitor with "close", propose closure,
approve it: the case closes). After each stage is reached by every case of the batch, the benchmark measures

* rows: the bytes of the case's own rows — the case row (its state document as stored: PostgreSQL compresses
  it), its person, tasks, timers, audit events and notifications (``pg_column_size`` of each row on
  PostgreSQL; the payload bytes of the table b-trees, ``dbstat``, on SQLite);
* on disk: every table and index of the database after ``VACUUM FULL`` (PostgreSQL,
  ``pg_total_relation_size``) or ``VACUUM`` (SQLite, ``dbstat`` page sizes), less the same before the batch
  was opened, divided by the number of cases: what a case really costs, indexes and page overhead included.

The reference process (``bench/peer/peer_case.bpmn``) is measured the same way when its cases are open at the
first task and when they are done: the peer's 36 KB per completed and 17.7 KB per open instance are for it.
Asserts only correctness: every case reaches each stage and ends closed.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import START, Databases, Run, actor, base_parser, make_engine  # noqa: E402
from bench.floor import DEFAULT_WALK, PEER_DIR, PEER_PROCESS, PEER_WALK, open_payload, starting  # noqa: E402

from sqlalchemy import create_engine, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from engine.clock import FakeClock  # noqa: E402
from engine.db.models import Case, Task, User  # noqa: E402
from engine.process.definitions import read_definition_files  # noqa: E402
from engine.services import cases, definitions, tasks  # noqa: E402
from engine.services.actors import Actor  # noqa: E402
from engine.services.demo import answerer_id  # noqa: E402

#: After how many completions of the plain path a case is in each stage.
CHECKPOINTS = [("identification", 0), ("assessment", 1), ("planning", 3), ("delivery", 5), ("monitoring", 6),
               ("closure", 7), ("closed", 9)]
PEER_CHECKPOINTS = [("open (first task)", 0), ("done", 10)]
#: Tables holding a case's rows, and how a row belongs to the batch's cases.
CASE_TABLES = {
    "cases": "id IN ({ids})",
    "persons": "id IN (SELECT person_id FROM cases WHERE id IN ({ids}))",
    "tasks": "case_id IN ({ids})",
    "timers": "case_id IN ({ids})",
    "audit_events": "case_id IN ({ids})",
    "notifications": "case_id IN ({ids})",
}


class Meter:
    def __init__(self, url: str, admin_url: str | None):
        self.url = url
        self.postgres = url.startswith("postgresql")
        if self.postgres:  # VACUUM FULL as the superuser, on the benchmark's database
            database = make_url(url).database
            self.admin = create_engine(make_url(admin_url).set(database=database), isolation_level="AUTOCOMMIT")
        else:
            self.admin = create_engine(url, isolation_level="AUTOCOMMIT")

    def compact(self):
        with self.admin.connect() as conn:
            if self.postgres:
                conn.execute(text("VACUUM FULL"))
                conn.execute(text("ANALYZE"))
            else:
                conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
                conn.execute(text("VACUUM"))

    def disk(self) -> dict[str, int]:
        """Bytes of every table (with its indexes and TOAST) in the database."""
        self.compact()
        with self.admin.connect() as conn:
            if self.postgres:
                rows = conn.execute(text(
                    "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = 'public' AND c.relkind = 'r'")).all()
                return dict(rows)
            tables = dict(conn.execute(text("SELECT name, tbl_name FROM sqlite_master WHERE type IN "
                                            "('table', 'index')")).all())
            totals: dict[str, int] = {}
            for name, size in conn.execute(text("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name")).all():
                table = tables.get(name, name)
                totals[table] = totals.get(table, 0) + size
            return totals

    def rows(self, case_ids: list[int]) -> dict[str, int]:
        """Bytes of the batch's own rows, per table, and of the stored state documents."""
        ids = ",".join(str(i) for i in case_ids)
        out = {}
        with self.admin.connect() as conn:
            for table, where in CASE_TABLES.items():
                if self.postgres:
                    size = conn.execute(text(f"SELECT COALESCE(SUM(pg_column_size(t.*)), 0) FROM {table} t "
                                             f"WHERE {where.format(ids=ids)}")).scalar()
                else:
                    size = self._sqlite_row_bytes(conn, table, where.format(ids=ids))
                out[table] = int(size)
            if self.postgres:
                stored, raw = conn.execute(text(f"SELECT SUM(pg_column_size(state)), SUM(octet_length(state)) "
                                                f"FROM cases WHERE id IN ({ids})")).one()
            else:
                stored = raw = conn.execute(text(f"SELECT SUM(length(CAST(state AS BLOB))) FROM cases "
                                                 f"WHERE id IN ({ids})")).scalar()
        out["state_stored"], out["state_json"] = int(stored), int(raw)
        return out

    @staticmethod
    def _sqlite_row_bytes(conn, table, where) -> int:
        columns = [row[1] for row in conn.execute(text(f"PRAGMA table_info({table})")).all()]
        # The record format stores each value in about its own length plus a header byte: close enough.
        parts = " + ".join(f"COALESCE(length(CAST(\"{c}\" AS BLOB)), 0) + 1" for c in columns)
        return conn.execute(text(f"SELECT COALESCE(SUM({parts}), 0) FROM {table} WHERE {where}")).scalar()

    def dispose(self):
        self.admin.dispose()


def walk_and_measure(url: str, admin_url: str | None, process_id: str, walk, checkpoints, count: int) -> dict:
    clock = FakeClock(START)
    engine = make_engine(url, clock)
    if process_id == PEER_PROCESS:
        definitions.publish(engine, read_definition_files(PEER_DIR), process_id=PEER_PROCESS, note="benchmark")
    meter = Meter(url, admin_url)
    worker = actor(engine, "worker1")
    mahalla_id = min(worker.mahalla_ids)
    before = meter.disk()
    with starting(process_id):
        case_ids = []
        for n in range(count):
            clock.advance(minutes=1)
            case_ids.append(cases.open_case(engine, worker, open_payload(mahalla_id, n))["id"])
    figures, done = {}, 0
    for stage, after in checkpoints:
        for form_key, data in walk[done:after]:
            with engine.db.read() as session:
                todo = []
                for case_id in case_ids:
                    task = session.scalar(select(Task).where(Task.case_id == case_id, Task.state == "open",
                                                             Task.form_key == form_key))
                    assert task is not None, f"case {case_id} has no open {form_key} task"
                    todo.append((task.id, Actor.of(session.get(User, answerer_id(session, task)))))
            clock.advance(hours=2)
            for task_id, by in todo:
                tasks.complete_task(engine, by, task_id, {"data": data})
        done = after
        with engine.db.read() as session:
            stages = dict(session.execute(select(Case.status, func.count()).where(Case.id.in_(case_ids))
                                          .group_by(Case.status)).all())
        assert stages == ({"closed": count} if after == len(walk) else {"open": count}), (stage, stages)
        rows = meter.rows(case_ids)
        disk = meter.disk()
        delta = {t: disk.get(t, 0) - before.get(t, 0) for t in disk if disk.get(t, 0) != before.get(t, 0)}
        row_total = sum(v for k, v in rows.items() if k in CASE_TABLES)
        figures[stage] = {
            "rows_bytes_per_case": round(row_total / count),
            "rows_by_table_per_case": {k: round(v / count) for k, v in rows.items() if k in CASE_TABLES},
            "state_stored_bytes": round(rows["state_stored"] / count),
            "state_json_bytes": round(rows["state_json"] / count),
            "disk_bytes_per_case": round(sum(delta.values()) / count),
            "disk_by_table_per_case": {k: round(v / count) for k, v in sorted(delta.items())},
        }
        f = figures[stage]
        print(f"  {stage:<18} rows {f['rows_bytes_per_case'] / 1024:5.1f} KB/case "
              f"(state {f['state_stored_bytes'] / 1024:4.1f} KB stored, {f['state_json_bytes'] / 1024:4.1f} KB JSON;"
              f" {', '.join(f'{k} {v / 1024:.1f}' for k, v in f['rows_by_table_per_case'].items() if k != 'cases')})"
              f" | on disk {f['disk_bytes_per_case'] / 1024:5.1f} KB/case", flush=True)
    meter.dispose()
    engine.db.dispose()
    return figures


def main() -> None:
    parser = base_parser(__doc__)
    parser.add_argument("--cases", type=int, help="cases in the batch (default 500, --quick 20)")
    args = parser.parse_args()
    count = args.cases or (20 if args.quick else 500)
    kind = "postgresql" if args.postgres else "sqlite"
    run = Run("storage", kind, args, quick=args.quick)
    with Databases(postgres=args.postgres) as dbs:
        run.machine(dbs.server.url if dbs.server else None)
        print(f"## case_management: {count} cases, plain path", flush=True)
        default = walk_and_measure(dbs.fresh(), dbs.admin_url, "case_management", DEFAULT_WALK, CHECKPOINTS, count)
        print(f"## {PEER_PROCESS}: {count} cases", flush=True)
        peer = walk_and_measure(dbs.fresh(), dbs.admin_url, PEER_PROCESS, PEER_WALK, PEER_CHECKPOINTS, count)
    run.results = {"cases": count, "case_management": default, PEER_PROCESS: peer}
    closed = default["closed"]
    run.target("closed_rows", "completed case, its rows (KB)", 12.0, round(closed["rows_bytes_per_case"] / 1024, 1))
    run.target("closed_disk", "completed case, on disk with indexes (KB)", 12.0,
               round(closed["disk_bytes_per_case"] / 1024, 1))
    run.target("peer_done_disk", "reference process, completed case on disk (KB), peer 36", 36.0,
               round(peer["done"]["disk_bytes_per_case"] / 1024, 1))
    run.target("peer_open_disk", "reference process, open case on disk (KB), peer 17.7", 17.7,
               round(peer["open (first task)"]["disk_bytes_per_case"] / 1024, 1))
    run.finish()


if __name__ == "__main__":
    main()
