"""BPMN timers as drawn, driven through the process runtime with a fake clock (no database, no services).

Every step goes through the state string: each operation loads the state the previous one returned, on a fresh
``ProcessRuntime`` (as a restarted worker or the scheduler process would), and each state must restore and dump
back to the identical string. The small processes are in ``tests/corpus/timers``; the intermediate timer is the
shipped process's own ``Timer_follow_up``.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from engine.clock import FakeClock
from engine.errors import Conflict
from engine.process.definitions import Problem, check_definition, compile_definition, read_definition_files
from engine.process.runtime import ProcessRuntime, skip_missed_cycles
from engine.process.serialization import dump_state, load_state
from engine.settings import Settings
from tests.sample_answers import SAMPLE_START_DATA, answers

START = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)  # a Monday
CORPUS = Path(__file__).parent / "corpus" / "timers"
SETTINGS = Settings()
SHIPPED = read_definition_files(SETTINGS.workflows_dir, SETTINGS.forms_dir)
FORMS = {name: text for name, text in SHIPPED.items() if name.endswith(".form.json")}
CORPUS_FILES = sorted(path.name for path in CORPUS.glob("*.bpmn"))


def corpus_set(file: str, old: str | None = None, new: str | None = None) -> dict[str, str]:
    """The corpus file with the forms of the shipped set; optionally with one occurrence of ``old`` replaced."""
    text = (CORPUS / file).read_text(encoding="utf-8")
    if old is not None:
        assert text.count(old) == 1, f"{old!r} must occur exactly once in {file}"
        text = text.replace(old, new)
    return {file: text, **FORMS}


def line_of(text: str, needle: str) -> int:
    assert text.count(needle) == 1, f"{needle!r} must occur exactly once"
    return text[: text.index(needle)].count("\n") + 1


class Case:
    """One case of a definition set, moved on step by step through its state string."""

    def __init__(self, files: dict[str, str], process_id: str, clock: FakeClock):
        assert check_definition(files, process_id) == []
        self.spec_json = compile_definition(files, process_id).spec_json
        self.key = f"{process_id}@test"
        self.clock = clock
        self.outcome = None

    def _runtime(self) -> ProcessRuntime:
        return ProcessRuntime(self.clock)  # a fresh one each time: nothing survives but the state string

    def _loader(self):
        return self.spec_json

    def _keep(self, outcome):
        runtime = self._runtime()
        runtime.ensure_spec(self.key, self._loader)
        assert dump_state(load_state(outcome.state, runtime._resolve), self.key) == outcome.state
        self.outcome = outcome
        return outcome

    def start(self, **data):
        return self._keep(self._runtime().start(self.key, self._loader, data))

    def wake(self):
        return self._keep(self._runtime().wake(self.key, self._loader, self.outcome.state))

    def task(self, bpmn_id: str):
        matching = [t for t in self.outcome.open_tasks if t.bpmn_id == bpmn_id]
        assert matching, f"no open task {bpmn_id}: {self.open}"
        return matching[0]

    def complete(self, bpmn_id: str, **form):
        task = self.task(bpmn_id)
        return self._keep(self._runtime().complete_task(self.key, self._loader, self.outcome.state, task.id, form))

    @property
    def open(self) -> list[tuple[str, str]]:
        return sorted((t.bpmn_id, t.lane) for t in self.outcome.open_tasks)

    @property
    def next_timer_at(self):
        return self.outcome.next_timer_at


@pytest.fixture
def clock():
    return FakeClock(START)


def case_of(file: str, clock: FakeClock) -> Case:
    return Case(corpus_set(file), file[: -len(".bpmn")], clock)


# --- the corpus passes the lint --------------------------------------------------------------------------------

@pytest.mark.parametrize("file", CORPUS_FILES)
def test_corpus_file_passes_the_lint(file):
    assert check_definition(corpus_set(file), file[: -len(".bpmn")]) == []


# --- (a) interrupting boundary timer on a user task ------------------------------------------------------------

def test_interrupting_boundary_timer_takes_the_visit_away(clock):
    case = case_of("visit_deadline.bpmn", clock)
    case.start(case_id=7)
    assert case.open == [("monitoring_visit", "social_worker")]
    assert case.outcome.executed == ["Start", "StartEvent_visit", "set_visit_deadline",
                                     "monitoring_visit.BoundaryEventSplit"]
    assert case.next_timer_at == START + timedelta(days=7)  # from the variable set by the script before the task
    visit = case.task("monitoring_visit")

    clock.advance(days=6, hours=23)
    case.wake()
    assert (case.open, case.outcome.executed, case.next_timer_at) == (
        [("monitoring_visit", "social_worker")], [], START + timedelta(days=7))

    clock.advance(hours=1, seconds=1)
    case.wake()
    assert case.open == [("reassign_visit", "supervisor")]
    assert "Timer_visit_overdue" in case.outcome.executed
    assert case.next_timer_at is None and not case.outcome.completed
    with pytest.raises(Conflict):  # the worker's task was cancelled by the timer
        ProcessRuntime(clock).complete_task(case.key, case._loader, case.outcome.state, visit.id, {})

    case.complete("reassign_visit", decision="approved")
    assert case.outcome.completed and case.outcome.executed[0] == "EndEvent_reassigned"
    assert case.outcome.data["case_id"] == 7


def test_interrupting_timer_is_cancelled_when_the_visit_is_recorded_in_time(clock):
    case = case_of("visit_deadline.bpmn", clock)
    case.start()
    clock.advance(days=2)
    case.complete("monitoring_visit", outcome="continue")
    assert case.outcome.completed and case.next_timer_at is None
    assert "EndEvent_visited" in case.outcome.executed
    clock.advance(days=30)
    state = case.outcome.state
    case.wake()
    assert (case.open, case.outcome.executed, case.outcome.completed, case.outcome.state) == ([], [], True, state)


# --- (b) non-interrupting boundary timer opening a supervisor task ----------------------------------------------

def test_non_interrupting_reminder_opens_a_supervisor_task_while_the_visit_stays_open(clock):
    case = case_of("visit_reminder.bpmn", clock)
    case.start()
    assert case.open == [("monitoring_visit", "social_worker")]
    assert case.next_timer_at == START + timedelta(days=3)

    clock.advance(days=3, minutes=5)
    case.wake()
    assert case.open == [("chase_visit", "supervisor"), ("monitoring_visit", "social_worker")]
    assert case.outcome.executed == ["Timer_visit_reminder"]
    assert case.next_timer_at is None  # a one-shot timer: nothing more is due

    case.complete("monitoring_visit", outcome="close")  # the supervisor's task is not tied to the visit
    assert case.open == [("chase_visit", "supervisor"), ("propose_closure", "social_worker")]
    case.complete("propose_closure", closure_reason="goals_achieved")
    assert case.open == [("chase_visit", "supervisor")] and not case.outcome.completed
    case.complete("chase_visit", decision="approved")
    assert case.outcome.completed


def test_visit_recorded_first_cancels_the_reminder_and_a_stale_wake_is_a_no_op(clock):
    case = case_of("visit_reminder.bpmn", clock)
    case.start()
    clock.advance(days=1)
    case.complete("monitoring_visit", outcome="close")
    assert case.open == [("propose_closure", "social_worker")]
    assert case.next_timer_at is None

    clock.advance(days=10)  # the scheduler still had the old due time and wakes the case anyway
    state = case.outcome.state
    case.wake()
    assert (case.open, case.outcome.executed, case.next_timer_at, case.outcome.state) == (
        [("propose_closure", "social_worker")], [], None, state)


# --- (c) intermediate timer catch event: the shipped follow-up "P90D" ------------------------------------------

def test_intermediate_timer_follow_up_three_months_after_closure(clock):
    case = Case(SHIPPED, "case_management", clock)
    case.start(**SAMPLE_START_DATA)
    overrides = {"monitoring_visit": {"outcome": "close"}, "closure_proposal": {"follow_up_check": True}}
    for _ in range(12):
        if not case.outcome.open_tasks:
            break
        task = case.outcome.open_tasks[0]
        case.complete(task.bpmn_id, **answers(task.form_key, **overrides.get(task.form_key, {})))
    assert case.open == [] and not case.outcome.completed
    due = START + timedelta(days=90)
    assert case.next_timer_at == due

    clock.set(due - timedelta(seconds=1))
    case.wake()
    assert (case.open, case.outcome.executed, case.next_timer_at) == ([], [], due)
    clock.set(due)  # due at exactly the wake instant: it fires (Spiff alone waits until the time is past)
    case.wake()
    assert case.open == [("follow_up_visit", "social_worker")]
    assert case.outcome.executed == ["Timer_follow_up"] and case.next_timer_at is None

    case.complete("follow_up_visit", **answers("follow_up_visit"))
    assert case.outcome.completed


# --- (d) timer start events -----------------------------------------------------------------------------------

def test_timer_start_event_delays_the_first_step(clock):
    case = case_of("delayed_start.bpmn", clock)
    first_visit = START + timedelta(days=7)
    case.start(first_visit_on=first_visit.isoformat())
    assert (case.open, case.outcome.completed, case.next_timer_at) == ([], False, first_visit)
    assert case.outcome.executed == ["Start"]

    clock.advance(days=6)
    case.wake()
    assert (case.open, case.outcome.executed, case.next_timer_at) == ([], [], first_visit)
    clock.advance(days=1, seconds=1)
    case.wake()
    assert case.open == [("monitoring_visit", "social_worker")]
    assert case.outcome.executed == ["StartEvent_first_visit_day"] and case.next_timer_at is None
    case.complete("monitoring_visit", outcome="close")
    assert case.outcome.completed


def test_event_subprocess_reminds_every_two_weeks_until_the_main_flow_ends(clock):
    case = case_of("monitoring_reminders.bpmn", clock)
    case.start()
    assert case.open == [("monitoring_visit", "social_worker")]
    assert case.next_timer_at == START + timedelta(days=14)

    clock.advance(days=14, hours=1)
    case.wake()
    assert case.open == [("monitoring_visit", "social_worker"), ("reminder_visit", "social_worker")]
    assert (case.next_timer_at, case.outcome.coalesced) == (START + timedelta(days=28), 0)
    case.complete("reminder_visit", outcome="continue")
    assert case.open == [("monitoring_visit", "social_worker")]

    clock.advance(days=14)
    case.wake()
    assert case.open == [("monitoring_visit", "social_worker"), ("reminder_visit", "social_worker")]
    assert case.next_timer_at == START + timedelta(days=42)

    # The scheduler is down for six weeks: the reminders due on days 42, 56 and 70 come as one.
    clock.advance(days=42)  # now: day 70 + 1 hour
    case.wake()
    assert case.open == [("monitoring_visit", "social_worker"), ("reminder_visit", "social_worker"),
                         ("reminder_visit", "social_worker")]
    assert (case.outcome.coalesced, case.next_timer_at) == (2, START + timedelta(days=84))

    case.complete("monitoring_visit", outcome="close")
    case.complete("propose_closure", closure_reason="goals_achieved")
    # The main flow has ended: no more reminders, but the two already open still count.
    assert case.open == [("reminder_visit", "social_worker"), ("reminder_visit", "social_worker")]
    assert case.next_timer_at is None and not case.outcome.completed
    clock.advance(days=60)
    case.wake()
    assert len(case.open) == 2 and case.outcome.executed == []
    case.complete("reminder_visit", outcome="continue")
    assert not case.outcome.completed
    case.complete("reminder_visit", outcome="continue")
    assert case.outcome.completed and case.next_timer_at is None


def test_event_subprocess_that_never_fired_does_not_hold_the_case_open(clock):
    case = case_of("monitoring_reminders.bpmn", clock)
    case.start()
    clock.advance(days=3)
    case.complete("monitoring_visit", outcome="close")
    assert case.next_timer_at == START + timedelta(days=14)  # still running: the reminder may come
    case.complete("propose_closure", closure_reason="goals_achieved")
    assert case.outcome.completed and case.open == [] and case.next_timer_at is None
    clock.advance(days=30)
    case.wake()
    assert (case.outcome.completed, case.open, case.outcome.executed) == (True, [], [])


# --- (e) cycle timers coalesce ----------------------------------------------------------------------------------

def test_daily_cycle_after_three_days_of_downtime_fires_once(clock):
    case = case_of("daily_chase.bpmn", clock)
    case.start(chase_cycle="R/P1D")
    assert case.next_timer_at == START + timedelta(days=1)

    clock.advance(days=3, hours=1)  # occurrences on days 1, 2 and 3 were missed
    case.wake()
    assert case.open == [("chase_visit", "supervisor"), ("monitoring_visit", "social_worker")]
    assert case.outcome.coalesced == 2
    assert case.next_timer_at == START + timedelta(days=4)  # the first occurrence after now

    case.wake()  # a second wake at the same time: nothing more is due
    assert (len(case.open), case.outcome.coalesced, case.outcome.executed) == (2, 0, [])
    clock.advance(days=1)
    case.wake()
    assert case.open.count(("chase_visit", "supervisor")) == 2
    assert (case.outcome.coalesced, case.next_timer_at) == (0, START + timedelta(days=5))

    # The visit is recorded: the chasing stops, and the chase tasks already open stay open (Spiff alone would
    # cancel the waiting cycle timer and drop its unfinished branches from the tree).
    case.complete("monitoring_visit", outcome="close")
    assert case.open == [("chase_visit", "supervisor"), ("chase_visit", "supervisor"),
                         ("propose_closure", "social_worker")]
    assert case.next_timer_at is None
    clock.advance(days=5)
    case.wake()
    assert (case.outcome.executed, case.outcome.coalesced, len(case.open)) == ([], 0, 3)
    case.complete("chase_visit", decision="approved")
    case.complete("propose_closure", closure_reason="goals_achieved")
    assert not case.outcome.completed
    case.complete("chase_visit", decision="approved")
    assert case.outcome.completed


def test_skipped_occurrences_count_against_the_repetition_limit(clock):
    case = case_of("daily_chase.bpmn", clock)
    case.start(chase_cycle="R5/P1D")
    clock.advance(days=3, hours=1)
    case.wake()  # occurrences 1-3 due: one chase, two skipped, two occurrences left (days 4 and 5)
    assert (case.open.count(("chase_visit", "supervisor")), case.outcome.coalesced) == (1, 2)
    assert case.next_timer_at == START + timedelta(days=4)
    clock.advance(days=1)
    case.wake()
    assert case.next_timer_at == START + timedelta(days=5)
    clock.advance(days=1)
    case.wake()  # the fifth and last occurrence
    assert case.open.count(("chase_visit", "supervisor")) == 3
    assert case.next_timer_at is None
    clock.advance(days=10)
    case.wake()
    assert (case.open.count(("chase_visit", "supervisor")), case.outcome.executed) == (3, [])


def test_downtime_longer_than_the_remaining_repetitions(clock):
    case = case_of("daily_chase.bpmn", clock)
    case.start(chase_cycle="R2/P1D")
    clock.advance(days=5, hours=1)
    case.wake()
    assert (case.open.count(("chase_visit", "supervisor")), case.outcome.coalesced) == (1, 1)
    assert case.next_timer_at is None
    case.complete("chase_visit", decision="approved")
    case.complete("monitoring_visit", outcome="close")
    case.complete("propose_closure", closure_reason="goals_achieved")
    assert case.outcome.completed


def test_coalescing_also_applies_when_a_user_acts_before_the_scheduler(clock):
    case = case_of("daily_chase.bpmn", clock)
    case.start(chase_cycle="R/P1D")
    clock.advance(days=3, hours=1)
    case.complete("monitoring_visit", outcome="close")  # the boundary timer is cancelled with the visit
    assert case.open == [("propose_closure", "social_worker")]
    assert (case.outcome.coalesced, case.next_timer_at) == (0, None)


@pytest.mark.parametrize("event_value, now, skipped, after", [
    # not due yet, or due exactly now (the library fires only once the time is past)
    ({"cycles": -1, "next": "2026-01-06T09:00:00+00:00", "duration": 86400.0}, START, 0,
     {"cycles": -1, "next": "2026-01-06T09:00:00+00:00", "duration": 86400.0}),
    ({"cycles": -1, "next": "2026-01-06T09:00:00+00:00", "duration": 86400.0}, START + timedelta(days=1), 0,
     {"cycles": -1, "next": "2026-01-06T09:00:00+00:00", "duration": 86400.0}),
    # one occurrence due: nothing to skip
    ({"cycles": -1, "next": "2026-01-06T09:00:00+00:00", "duration": 86400.0}, START + timedelta(days=1, hours=1),
     0, {"cycles": -1, "next": "2026-01-06T09:00:00+00:00", "duration": 86400.0}),
    # days 1, 2, 3 due, day 4 is exactly now: fire day 3, skip days 1 and 2
    ({"cycles": -1, "next": "2026-01-06T09:00:00+00:00", "duration": 86400.0}, START + timedelta(days=4), 2,
     {"cycles": -1, "next": "2026-01-08T09:00:00+00:00", "duration": 86400.0}),
    ({"cycles": 5, "next": "2026-01-06T09:00:00+00:00", "duration": 86400.0}, START + timedelta(days=3, hours=1),
     2, {"cycles": 3, "next": "2026-01-08T09:00:00+00:00", "duration": 86400.0}),
    ({"cycles": 2, "next": "2026-01-06T09:00:00+00:00", "duration": 86400.0}, START + timedelta(days=9), 1,
     {"cycles": 1, "next": "2026-01-07T09:00:00+00:00", "duration": 86400.0}),
    ({"cycles": 0, "next": "2026-01-06T09:00:00+00:00", "duration": 86400.0}, START + timedelta(days=9), 0,
     {"cycles": 0, "next": "2026-01-06T09:00:00+00:00", "duration": 86400.0}),
])
def test_skip_missed_cycles(event_value, now, skipped, after):
    assert skip_missed_cycles(event_value, now) == skipped
    assert event_value == after


# --- (d) what Spiff 3.2 does not run as drawn: the lint refuses it ---------------------------------------------

ESP_START = '<bpmn:startEvent id="StartEvent_every_two_weeks" name="Every two weeks" isInterrupting="false">'


@pytest.mark.parametrize("replacement", [ESP_START.replace('"false"', '"true"'),
                                         ESP_START.replace(' isInterrupting="false"', "")])
def test_interrupting_timer_start_of_an_event_subprocess_is_refused(replacement):
    files = corpus_set("monitoring_reminders.bpmn", ESP_START, replacement)
    assert check_definition(files, "monitoring_reminders") == [Problem(
        "monitoring_reminders.bpmn", "the timer start event 'StartEvent_every_two_weeks' of event sub-process "
        "'reminders' is interrupting: SpiffWorkflow 3.2 would run the sub-process beside the main flow without "
        "interrupting it", "timer", "StartEvent_every_two_weeks",
        line_of(files["monitoring_reminders.bpmn"], replacement),
        'set isInterrupting="false", or draw an interrupting boundary timer on the activity')]


def test_repeating_timer_start_event_of_a_process_is_refused():
    old = '<bpmn:timeDate xsi:type="bpmn:tFormalExpression">first_visit_on</bpmn:timeDate>'
    files = corpus_set("delayed_start.bpmn", old, '<bpmn:timeCycle xsi:type="bpmn:tFormalExpression">"R/P7D"'
                                                  '</bpmn:timeCycle>')
    assert check_definition(files, "delayed_start") == [Problem(
        "delayed_start.bpmn", "the start event 'StartEvent_first_visit_day' repeats (timeCycle): SpiffWorkflow 3.2 "
        "would run the process again inside the same case at every cycle", "timer", "StartEvent_first_visit_day",
        line_of(files["delayed_start.bpmn"], '<bpmn:startEvent id="StartEvent_first_visit_day"'),
        "delay the first step with timeDuration or timeDate, or put the recurring work in an event sub-process "
        "with a non-interrupting timer start event")]


def test_repeating_intermediate_timer_is_refused():
    old = '<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"P90D"</bpmn:timeDuration>'
    files = {**SHIPPED, "case_management.bpmn": SHIPPED["case_management.bpmn"].replace(
        old, '<bpmn:timeCycle xsi:type="bpmn:tFormalExpression">"R3/P90D"</bpmn:timeCycle>')}
    assert check_definition(files) == [Problem(
        "case_management.bpmn", "the intermediate timer 'Timer_follow_up' repeats (timeCycle): SpiffWorkflow 3.2 "
        "would send the flow on once more at every cycle", "timer", "Timer_follow_up",
        line_of(files["case_management.bpmn"], '<bpmn:intermediateCatchEvent id="Timer_follow_up"'),
        "use timeDuration or timeDate; for a repeating reminder draw a non-interrupting boundary timer or an event "
        "sub-process with a non-interrupting timer start event")]


def test_unquoted_cycle_gets_a_hint():
    files = corpus_set("monitoring_reminders.bpmn", '>"R/P14D"<', ">R/P14D<")
    assert check_definition(files, "monitoring_reminders") == [Problem(
        "monitoring_reminders.bpmn", "the timer expression R/P14D is not quoted", "timer",
        "TimerEventDefinition_every_two_weeks", line_of(files["monitoring_reminders.bpmn"], ">R/P14D<"),
        'write it as a string: "R/P14D"')]


def test_cycle_whose_start_is_past_when_reached_fires_once(clock):
    case = case_of("daily_chase.bpmn", clock)
    case.start(chase_cycle="R/2026-01-01T09:00:00+00:00/P1D")  # Jan 1-4 are past, Jan 5 09:00 is now
    assert case.open == [("chase_visit", "supervisor"), ("monitoring_visit", "social_worker")]
    assert (case.outcome.coalesced, case.next_timer_at) == (4, START + timedelta(days=1))


def test_timers_fire_at_exactly_their_due_instant(clock):
    """The scheduler wakes a case when ``due <= now``; Spiff alone fires only once ``due < now``."""
    reminder = case_of("visit_reminder.bpmn", clock)
    reminder.start()
    chase = case_of("daily_chase.bpmn", clock)
    chase.start(chase_cycle="R/P1D")

    clock.set(START + timedelta(days=1))
    chase.wake()
    assert (chase.open.count(("chase_visit", "supervisor")), chase.outcome.coalesced) == (1, 0)
    assert chase.next_timer_at == START + timedelta(days=2)
    clock.set(START + timedelta(days=3))
    reminder.wake()
    assert reminder.open == [("chase_visit", "supervisor"), ("monitoring_visit", "social_worker")]
    clock.set(START + timedelta(days=4))  # days 2, 3 and 4 (now) are due: one chase, two skipped
    chase.wake()
    assert (chase.open.count(("chase_visit", "supervisor")), chase.outcome.coalesced) == (2, 2)
    assert chase.next_timer_at == START + timedelta(days=5)
