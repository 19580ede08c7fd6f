"""The ``yordam`` command: serve, scheduler, tick, db upgrade, demo load, users create, workflows lint|publish,
outbox send."""
from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path

from engine.errors import EngineError


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="yordam", description="Yordam case-management engine")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve the web app and API")
    serve.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=int(os.environ.get("PORT", "5000")))
    serve.add_argument("--no-scheduler", action="store_true",
                       help="do not run the ticker inside (a separate `yordam scheduler` runs)")

    sub.add_parser("scheduler", help="run the scheduler ticker in this process until stopped")
    tick = sub.add_parser("tick", help="one scheduler pass: fire every timer due now")
    tick.add_argument("--at", help="ISO instant to run the pass as of (time travel: needs "
                                   "YORDAM_ALLOW_TIME_TRAVEL=1)")

    outbox = sub.add_parser("outbox", help="e-mail outbox").add_subparsers(dest="action", required=True)
    outbox.add_parser("send", help="send pending e-mails (YORDAM_SMTP_URL)")

    retention = sub.add_parser("retention", help="personal data retention").add_subparsers(dest="action",
                                                                                       required=True)
    retention.add_parser("run", help="anonymise closed cases past their retention date (also run nightly)")
    db = sub.add_parser("db", help="database").add_subparsers(dest="action", required=True)
    db.add_parser("upgrade", help="apply the migrations")

    demo = sub.add_parser("demo", help="demo data").add_subparsers(dest="action", required=True)
    demo.add_parser("load", help="load demo org units, users and cases (refused in production)")

    users = sub.add_parser("users", help="users").add_subparsers(dest="action", required=True)
    create = users.add_parser("create", help="create a user")
    create.add_argument("--username", required=True)
    create.add_argument("--full-name", required=True)
    create.add_argument("--role", required=True)
    create.add_argument("--district", type=int, help="district id")
    create.add_argument("--mahalla", type=int, action="append", default=[], help="mahalla id (repeatable)")
    create.add_argument("--language", default="uz")
    create.add_argument("--password", help="read from YORDAM_PASSWORD or asked for when omitted")

    workflows = sub.add_parser("workflows", help="process definitions").add_subparsers(dest="action",
                                                                                        required=True)
    lint = workflows.add_parser("lint", help="validate and lint BPMN/DMN/form files")
    lint.add_argument("files", nargs="*", type=Path)
    publish = workflows.add_parser("publish", help="publish the shipped set (or the given files)")
    publish.add_argument("files", nargs="*", type=Path)
    publish.add_argument("--note")

    args = parser.parse_args(argv)
    from engine import logs
    logs.configure()
    try:
        return COMMANDS[(args.command, getattr(args, "action", None))](args)
    except EngineError as err:
        print(f"error: {err.message}", file=sys.stderr)
        for name, messages in (err.fields or {}).items():
            print(f"  {name}: {messages}", file=sys.stderr)
        return 2


def _engine():
    from engine.core import Engine
    return Engine()


def cmd_serve(args) -> int:
    from engine.scheduler import Ticker
    from webui import create_app
    engine = _engine()
    app = create_app(engine)
    ticker = None
    if engine.settings.embedded_scheduler and not args.no_scheduler:
        ticker = Ticker(engine)
        ticker.start()
    print(f"Yordam on http://{args.host}:{args.port}/" + (" (scheduler inside)" if ticker else ""), flush=True)
    try:
        app.run(host=args.host, port=args.port, threaded=True, use_reloader=False)
    finally:
        if ticker:
            ticker.stop()
    return 0


def cmd_scheduler(args) -> int:
    from engine.scheduler import Ticker
    ticker = Ticker(_engine(), blocking=True)
    print(f"Yordam scheduler {ticker.worker}: ticking every {ticker.interval:g} s", flush=True)
    try:
        ticker.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    return 0


def cmd_tick(args) -> int:
    from engine.clock import FakeClock
    from engine.core import Engine
    from engine.services.scheduler import tick
    from engine.settings import Settings, parse_instant
    settings = Settings.from_env()
    clock = None
    if args.at:
        if not settings.allow_time_travel:
            raise EngineError("--at is time travel: set YORDAM_ALLOW_TIME_TRAVEL=1 (never in production).")
        clock = FakeClock(parse_instant(args.at))
    engine = Engine(settings, clock=clock)
    report = tick(engine)
    print(f"as of {engine.now().isoformat()}: fired {report.fired} timer(s) {dict(report.by_kind)}, "
          f"skipped {report.skipped}, failed {report.failed}, latest {report.max_late_seconds:.0f} s late")
    return 1 if report.failed else 0


def cmd_outbox_send(args) -> int:
    from engine.services.outbox import send_pending
    engine = _engine()
    sent, failed = send_pending(engine)
    print(f"sent {sent} e-mail(s), {failed} failed")
    return 1 if failed else 0


def cmd_retention_run(args) -> int:
    from engine.services import retention
    report = retention.run(_engine())
    print(f"anonymised {len(report['anonymised'])} case(s); {len(report['on_legal_hold'])} past their date are "
          f"on legal hold: {report['on_legal_hold']}")
    return 0


def cmd_db_upgrade(args) -> int:
    from engine.db.migrate import upgrade
    from engine.settings import Settings
    upgrade(Settings.from_env().database_url)
    print("database is up to date")
    return 0


def cmd_demo_load(args) -> int:
    from engine.services import demo
    engine = _engine()
    if engine.settings.is_production:
        print("error: demo data is refused in production mode", file=sys.stderr)
        return 2
    print(demo.load(engine))
    return 0


def cmd_users_create(args) -> int:
    from engine.services import users
    password = args.password or os.environ.get("YORDAM_PASSWORD") or getpass.getpass("Password: ")
    user = users.create_user(_engine(), username=args.username, full_name=args.full_name, password=password,
                             role=args.role, district_id=args.district, mahalla_ids=args.mahalla,
                             language=args.language)
    print(f"created user {user.username} (id {user.id}, {user.role})")
    return 0


def _files(paths, settings):
    from engine.process.definitions import read_definition_files, read_text_file
    if not paths:
        return read_definition_files(settings.workflows_dir, settings.forms_dir)
    files = {p.name: read_text_file(p) for p in paths}  # not UTF-8: a problem for the author, not a traceback
    if not any(name.endswith(".form.json") for name in files):
        shipped = read_definition_files(settings.forms_dir)
        files.update({n: t for n, t in shipped.items() if n not in files})
    return files


def cmd_workflows_lint(args) -> int:
    from engine.process.definitions import check_definition
    from engine.settings import Settings
    problems = check_definition(_files(args.files, Settings.from_env()))
    for problem in problems:
        print(problem)
    print(f"{len(problems)} problem(s)" if problems else "no problems")
    return 1 if problems else 0


def cmd_workflows_publish(args) -> int:
    from engine.services import definitions
    engine = _engine()
    version, created = definitions.publish(engine, _files(args.files, engine.settings), note=args.note)
    print(f"{'published' if created else 'unchanged:'} {version.process_id} version {version.version}")
    return 0


COMMANDS = {
    ("serve", None): cmd_serve,
    ("scheduler", None): cmd_scheduler,
    ("tick", None): cmd_tick,
    ("outbox", "send"): cmd_outbox_send,
    ("retention", "run"): cmd_retention_run,
    ("db", "upgrade"): cmd_db_upgrade,
    ("demo", "load"): cmd_demo_load,
    ("users", "create"): cmd_users_create,
    ("workflows", "lint"): cmd_workflows_lint,
    ("workflows", "publish"): cmd_workflows_publish,
}

if __name__ == "__main__":
    sys.exit(main())
