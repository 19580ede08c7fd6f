"""Demo data: a region, two districts, six mahallas, users of every role and twenty cases at every stage.

Cases are driven through the real services with the answers in ``demo_answers``, so every row, task and audit
event is what real use would have produced. They were opened days or weeks ago (a clock set in the past, one
day per step), and a scheduler pass then fires what has fallen due since: some tasks are overdue and their
escalations wait for the supervisor, as in any real centre. Refused in production mode.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from ..clock import FakeClock

from ..db.models import OrgUnit, Task, User
from ..errors import EngineError
from . import cases, definitions, tasks, users
from .actors import Actor
from .demo_answers import answers, approval, assessment, referral

PASSWORD = "demo1234"
USERS = [
    # username, full name, role, district index, mahalla indexes
    ("worker1", "Dilnoza Karimova", "social_worker", 0, (0, 1)),
    ("worker2", "Jasur Toshmatov", "social_worker", 0, (2,)),
    ("worker3", "Gulnora Rahimova", "social_worker", 1, (3, 4, 5)),
    ("supervisor1", "Nodira Yusupova", "supervisor", 0, ()),
    ("supervisor2", "Akmal Sobirov", "supervisor", 1, ()),
    ("head1", "Bahodir Ergashev", "center_head", 0, ()),
    ("specialist1", "Malika Abdullayeva", "specialist", 0, ()),
    ("methodologist1", "Sardor Nazarov", "methodologist", None, ()),
    ("admin1", "Otabek Qodirov", "admin", None, ()),
]
DISTRICTS = [("Chirchiq shahri", ("Bog'ishamol", "Navbahor", "Yangiobod")),
             ("Zangiota tumani", ("Eshonguzar", "Nazarbek", "Qatortol"))]
CLIENTS = ["Oʻgʻiloy Toʻxtayeva", "Karim Yoqubov", "Ўғилой Тўхтаева", "Zulfiya Ismoilova", "Rustam Qodirov",
           "Hamida Eshmatova", "Shoxrux Gʻulomov", "Xurshida Nurmatova", "Anvar Saidov", "Mohira Jo'rayeva",
           "Lola Abdurahmonova", "Farrux Mirzayev", "Saodat Tursunova", "Bekzod Hamroyev", "Nilufar Aliyeva",
           "Tohir Olimov", "Muqaddas Rasulova", "Sherzod Usmonov", "Gavhar Zokirova", "Ulugʻbek Sultonov"]

PLAIN = [("register_referral", referral), ("needs_assessment", assessment),
         ("recognition_of_need", lambda: approval("approved")), ("service_plan", lambda: answers("service_plan")),
         ("plan_approval", lambda: approval("approved")),
         ("service_delivery", lambda: answers("service_delivery")),
         ("monitoring_visit", lambda: answers("monitoring_visit", outcome="close")),
         ("closure_proposal", lambda: answers("closure_proposal")),
         ("closure_approval", lambda: approval("approved"))]
# How many steps of PLAIN each demo case has gone through: every stage is represented.
PROGRESS = [0, 0, 0, 1, 1, 1, 2, 2, 3, 3, 4, 5, 5, 6, 6, 6, 7, 8, 9, 9]
# How many days ago each was opened (a step a day after that): some are fresh, some have fallen behind.
AGES = [0, 3, 12, 1, 9, 20, 4, 15, 6, 18, 8, 10, 25, 12, 30, 40, 14, 20, 30, 45]


def load(engine) -> str:
    if engine.settings.is_production:
        raise EngineError("Demo data is refused in production mode.")
    definitions.publish_shipped(engine)
    with engine.db.read() as session:
        if session.scalar(select(User.id).where(User.username == "worker1")):
            return "Demo data is already loaded.\n" + users_text()
    load_org_and_users(engine)
    load_cases(engine)
    return "Demo data loaded.\n" + users_text()


def users_text() -> str:
    lines = [f"  {u:<15} {role:<14} {name}" for u, name, role, _, _ in USERS]
    return "Users (password for all: " + PASSWORD + "):\n" + "\n".join(lines)


def load_org_and_users(engine, password_hash: str | None = None) -> None:
    """The demo region, districts, mahallas and users. ``password_hash`` replaces the hashed demo password (the
    workbench's sandbox gives its users one nobody can sign in with, and saves the hashing time)."""
    now = engine.now()
    with engine.db.write() as session:
        region = OrgUnit(kind="region", name="Toshkent viloyati")
        session.add(region)
        districts, mahallas = [], []
        for name, mahalla_names in DISTRICTS:
            district = OrgUnit(kind="district", name=name, parent=region, calendar="UZ")
            districts.append(district)
            mahallas += [OrgUnit(kind="mahalla", name=m, parent=district) for m in mahalla_names]
        session.add_all(districts + mahallas)
        session.flush()
        ids = [d.id for d in districts], [m.id for m in mahallas]
    hashed = password_hash or users.hash_password(PASSWORD)
    with engine.db.write() as session:
        for username, full_name, role, district, mahalla_indexes in USERS:
            user = User(username=username, full_name=full_name, password_hash=hashed, role=role,
                        district_id=ids[0][district] if district is not None else None,
                        language="uz", is_active=True, created_at=now)
            user.mahallas = [session.get(OrgUnit, ids[1][i]) for i in mahalla_indexes]
            session.add(user)


def actor(engine, username) -> Actor:
    with engine.db.read() as session:
        return Actor.of(session.scalar(select(User).where(User.username == username)))


def load_cases(engine) -> None:
    from ..core import Engine
    from .scheduler import tick
    with engine.db.read() as session:
        workers = session.scalars(select(User).where(User.role == "social_worker").order_by(User.id)).all()
        plan = [(w.username, m.id) for w in workers for m in w.mahallas]
    now = engine.now()
    clock = FakeClock(now)
    past = Engine(engine.settings, clock=clock, database=engine.db)
    for i, steps in enumerate(PROGRESS):
        clock.set(_office_morning(now - timedelta(days=AGES[i])))
        _load_case(past, clock, now, plan[i % len(plan)], i, steps)
    tick(engine)  # what fell due between then and now fires, late, as after a weekend


def _office_morning(instant: datetime) -> datetime:
    """10:00 in Tashkent (UTC+5) on the instant's date, never later than the instant itself."""
    morning = instant.replace(hour=5, minute=0, second=0, microsecond=0, tzinfo=timezone.utc)
    return min(morning, instant)


def _load_case(engine, clock, now, owner, i, steps) -> None:
    username, mahalla_id = owner
    case = cases.open_case(engine, actor(engine, username), {
        "subject": {"kind": "person", "full_name": CLIENTS[i], "birth_date": f"{1940 + i * 3}-0{1 + i % 9}-15",
                    "sex": "female" if i % 2 == 0 else "male"},
        "mahalla_id": mahalla_id, "channel": ("mahalla", "self", "polyclinic", "school")[i % 4],
        "summary": "Referred for help with living conditions and care."})
    for form_key, make in PLAIN[:steps]:
        if clock.now() + timedelta(days=1) < now:
            clock.advance(days=1)
        complete_step(engine, case["id"], form_key, make())


def complete_step(engine, case_id: int, form_key: str, data: dict) -> dict:
    """Complete the case's open task that uses ``form_key``, as the user who would: its assignee, or the first
    holder of its queue's role in the district."""
    with engine.db.read() as session:
        task = session.scalar(select(Task).where(Task.case_id == case_id, Task.state == "open",
                                                 Task.form_key == form_key))
        if task is None:
            raise LookupError(f"case {case_id} has no open task with form {form_key}")
        username = session.get(User, answerer_id(session, task)).username
    return tasks.complete_task(engine, actor(engine, username), task.id, {"data": data})


def answerer_id(session, task: Task) -> int | None:
    """Who completes a task in demo data and in the workbench's sandbox: its assignee, or the first active holder
    of its queue's role in the district."""
    return task.assignee_id or session.scalar(
        select(User.id).where(User.role == task.role, User.district_id == task.district_id,
                              User.is_active.is_(True)).order_by(User.id).limit(1))
