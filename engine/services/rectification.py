"""Rectification: a person asks for their details to be corrected. The old values are kept in the case's history
(who changed what, when and why), the search keys follow the new name, and the timeline tells it."""
from __future__ import annotations

from ..db.models import Case, Person
from ..errors import Conflict, InvalidInput
from ..names import normalise_name, search_key
from . import inputs
from .actors import Actor
from .audit import record
from .cases import case_to_change

RECTIFIERS = ("social_worker", "supervisor", "center_head")


def rectify_person(engine, actor: Actor, case_id, payload) -> dict:
    """Correct the name, birth date or sex of the case's person (or of a household member)."""
    actor.require(*RECTIFIERS, action="correct a person's details")
    data = inputs.load(inputs.RectifyIn(), payload)
    with engine.db.write() as session:
        case = case_to_change(session, actor, case_id, open_only=False)  # a closed case's person may ask too
        if case.anonymised_at is not None:
            raise Conflict("The case was anonymised: it holds no personal data to correct.")
        person = _person_of(session, case, data["person_id"])
        before, after = {}, {}
        if "full_name" in data:
            try:
                name = normalise_name(data["full_name"])
            except ValueError as err:
                raise InvalidInput("Not a valid name.", fields={"full_name": [str(err)]}) from None
            if name != person.full_name:
                before["full_name"], after["full_name"] = person.full_name, name
                person.full_name, person.search_key = name, search_key(name)
        for field in ("birth_date", "sex"):
            if field in data and data[field] != getattr(person, field):
                old, new = getattr(person, field), data[field]
                before[field], after[field] = _plain(old), _plain(new)
                setattr(person, field, new)
        if not after:
            raise InvalidInput("Nothing would change.", fields={"full_name": ["These are the details already held."]})
        _refresh_case_keys(case, person)
        record(session, engine.now(), "person.rectified", actor_id=actor.id, case_id=case.id, person_id=person.id,
               before=before, after=after, reason=data["reason"])
        return {"person_id": person.id, "before": before, "after": after}


def _person_of(session, case: Case, person_id: int) -> Person:
    people = [case.person] if case.person is not None else [m.person for m in case.household.members]
    person = next((p for p in people if p.id == person_id), None)
    if person is None:
        raise InvalidInput("The person is not valid.", fields={"person_id": ["Choose a person of this case."]})
    return person


def _refresh_case_keys(case: Case, person: Person) -> None:
    """The case's own name and search key follow its person (a household keeps its own name)."""
    if case.person is not None:
        case.subject_name, case.search_key = person.full_name, person.search_key
    else:
        key = " | ".join([search_key(case.household.name)] + [m.person.search_key for m in case.household.members])
        case.search_key = key[:2000]


def _plain(value):
    return value.isoformat() if hasattr(value, "isoformat") else value
