"""Shapes of what users send to the use cases, checked before anything changes (shared by the UI and the API)."""
from __future__ import annotations

import re
from datetime import date

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates, validates_schema

from ..db.models import AGENCY_PURPOSES, CONSENT_GIVERS, CONSENT_PURPOSES
from ..errors import InvalidInput
from ..i18n import N_

CHANNELS = ("mahalla", "self", "polyclinic", "school", "police", "information_system", "other")
SEXES = ("female", "male")
RELATIONS = ("head", "spouse", "child", "parent", "sibling", "grandparent", "grandchild", "other")


MAX_ID = 2**31 - 1  # ids are 32-bit integers in the database: a larger number is simply unknown


def _id(**kwargs):
    return fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_ID), **kwargs)


def _plausible_date(value: date):
    if not 1900 <= value.year <= 2100:
        raise ValidationError("The year must be between 1900 and 2100.")


class _Strict(Schema):
    class Meta:
        unknown = RAISE


_SURROGATES = re.compile("[\ud800-\udfff]")


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be kept as text (no database takes a NUL or an unpaired surrogate), or None."""
    if "\x00" in value:
        return "Must not contain NUL characters."
    if _SURROGATES.search(value):
        return "Contains characters that are not valid text."
    return None


def _no_nul(value):
    problem = text_problem(value)
    if problem:
        raise ValidationError(problem)


def _user_ref(value) -> bool:
    """Whether ``value`` can name a user: an id or a username."""
    if isinstance(value, str):
        return text_problem(value) is None
    return isinstance(value, int) and not isinstance(value, bool)


def _plausible_birth_date(value: date):
    if value > date.today():
        raise ValidationError("The birth date is in the future.")
    if value.year < 1900:
        raise ValidationError("The birth date is before 1900.")


class PersonIn(_Strict):
    full_name = fields.String(required=True, validate=[validate.Length(min=1, max=200), _no_nul])
    birth_date = fields.Date(load_default=None, allow_none=True, validate=_plausible_birth_date)
    sex = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(SEXES))


class MemberIn(PersonIn):
    relation = fields.String(required=True, validate=validate.OneOf(RELATIONS))


class SubjectIn(_Strict):
    kind = fields.String(required=True, validate=validate.OneOf(("person", "household")))
    full_name = fields.String(validate=[validate.Length(min=1, max=200), _no_nul])
    birth_date = fields.Date(allow_none=True, validate=_plausible_birth_date)
    sex = fields.String(allow_none=True, validate=validate.OneOf(SEXES))
    name = fields.String(validate=[validate.Length(min=1, max=200), _no_nul])
    members = fields.List(fields.Nested(MemberIn), validate=validate.Length(min=1, max=30))

    @validates_schema
    def _kind_fields(self, data, **kwargs):
        if data.get("kind") == "person":
            if not data.get("full_name"):
                raise ValidationError("A person needs a full name.", "full_name")
            if "members" in data or "name" in data:
                raise ValidationError("A person has no members or household name.", "members")
        elif data.get("kind") == "household":
            if not data.get("members"):
                raise ValidationError("A household needs at least one member.", "members")
            if "full_name" in data:
                raise ValidationError("Give a household's people as members.", "full_name")


class OpenCaseIn(_Strict):
    subject = fields.Nested(SubjectIn, required=True)
    mahalla_id = _id(required=True)
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    summary = fields.String(required=True, validate=[validate.Length(min=1, max=4000), _no_nul])
    owner_id = _id(load_default=None, allow_none=True)


class CompleteTaskIn(_Strict):
    data = fields.Dict(keys=fields.String(), required=True)


class AssignTaskIn(_Strict):
    user = fields.Raw(required=True)
    reason = fields.String(load_default=None, allow_none=True, validate=[validate.Length(max=500), _no_nul])

    @validates("user")
    def _user(self, value, **kwargs):
        if not _user_ref(value):
            raise ValidationError("Give a user id or username.")


def load(schema: Schema, payload) -> dict:
    """Validate ``payload``; raise ``InvalidInput`` with per-field messages (nothing has changed yet)."""
    if not isinstance(payload, dict):
        raise InvalidInput("The request body must be a JSON object.")
    try:
        return schema.load(payload)
    except ValidationError as err:
        raise InvalidInput("Some fields are not valid.", fields=err.normalized_messages()) from None


def _reason():
    return fields.String(required=True, validate=[validate.Length(min=3, max=500), _no_nul])


class ExtendDeadlineIn(_Strict):
    """Move a deadline later: by a number of working days, or to a date (end of that working day)."""

    working_days = fields.Integer(strict=True, validate=validate.Range(min=1, max=120))
    until = fields.Date(validate=_plausible_date)
    reason = _reason()

    @validates_schema
    def _one_way(self, data, **kwargs):
        if ("working_days" in data) == ("until" in data):
            raise ValidationError("Give either working_days or until.", "working_days")


class EscalationActionIn(_Strict):
    action = fields.String(required=True, validate=validate.OneOf(("reassign", "extend", "acknowledge")))
    user = fields.Raw()
    working_days = fields.Integer(strict=True, validate=validate.Range(min=1, max=120))
    until = fields.Date(validate=_plausible_date)
    reason = fields.String(load_default=None, allow_none=True, validate=[validate.Length(max=500), _no_nul])

    @validates_schema
    def _action_fields(self, data, **kwargs):
        action = data.get("action")
        if action in ("reassign", "extend") and not (data.get("reason") or "").strip():
            raise ValidationError("Say why.", "reason")
        if action == "reassign":
            if not _user_ref(data.get("user")):
                raise ValidationError("Give a user id or username.", "user")
        if action == "extend" and ("working_days" in data) == ("until" in data):
            raise ValidationError("Give either working_days or until.", "working_days")


class HoldCaseIn(_Strict):
    waiting_for = fields.String(required=True, validate=validate.OneOf(("client", "agency", "other")))
    reason = _reason()


class CalendarDayIn(_Strict):
    date = fields.Date(required=True, validate=_plausible_date)
    kind = fields.String(required=True, validate=validate.OneOf(("day_off", "working_day")))
    name = fields.String(required=True, validate=[validate.Length(min=1, max=200), _no_nul])
    org_unit_id = _id(load_default=None, allow_none=True)


class ReassignAllIn(_Strict):
    from_user = fields.Raw(required=True)
    to_user = fields.Raw(required=True)
    reason = _reason()
    include_cases = fields.Boolean(load_default=False)

    @validates_schema
    def _users(self, data, **kwargs):
        for name in ("from_user", "to_user"):
            if not _user_ref(data.get(name)):
                raise ValidationError("Give a user id or username.", name)


class BreakGlassIn(_Strict):
    case_id = _id(required=True)
    reason = fields.String(required=True, validate=[validate.Length(min=15, max=500), _no_nul])
    minutes = fields.Integer(strict=True, load_default=60, validate=validate.Range(min=5, max=240))


class ConsentIn(_Strict):
    """A consent for the consent register (services/consents.py)."""

    purpose = fields.String(required=True, validate=validate.OneOf(CONSENT_PURPOSES))
    agency = fields.String(load_default=None, allow_none=True, validate=[validate.Length(max=200), _no_nul])
    person_id = _id(load_default=None, allow_none=True)
    given_by = fields.String(required=True, validate=validate.OneOf(CONSENT_GIVERS))
    representative_name = fields.String(load_default=None, allow_none=True,
                                        validate=[validate.Length(max=200), _no_nul])
    representative_relation = fields.String(load_default=None, allow_none=True,
                                            validate=[validate.Length(max=100), _no_nul])
    given_at = fields.Date(required=True, validate=_plausible_date)
    evidence = fields.String(required=True, validate=[validate.Length(min=3, max=1000), _no_nul])
    expires_on = fields.Date(load_default=None, allow_none=True, validate=_plausible_date)

    @validates_schema
    def _consistent(self, data, **kwargs):
        errors = {}
        agency = (data.get("agency") or "").strip()
        if data.get("purpose") in AGENCY_PURPOSES and not agency:
            errors["agency"] = [N_("Name the agency (e.g. Polyclinic No. 3).")]
        elif data.get("purpose") == "assessment" and agency:
            errors["agency"] = [N_("A consent for assessment names no agency.")]
        if data.get("given_by") == "legal_representative":
            if not (data.get("representative_name") or "").strip():
                errors["representative_name"] = [N_("Give the legal representative's name.")]
            if not (data.get("representative_relation") or "").strip():
                errors["representative_relation"] = [N_("Say who the representative is (e.g. mother, guardian).")]
        elif (data.get("representative_name") or "").strip() or (data.get("representative_relation") or "").strip():
            errors["given_by"] = [N_("Choose “legal representative” to name a representative.")]
        if data.get("expires_on") and data.get("given_at") and data["expires_on"] < data["given_at"]:
            errors["expires_on"] = [N_("The consent cannot expire before it was given.")]
        if errors:
            raise ValidationError(errors)


class RevokeConsentIn(_Strict):
    reason = _reason()


class ConsentTaskIn(_Strict):
    """Completing the review task a revoked consent opened: what the worker did, optionally."""

    comment = fields.String(load_default=None, allow_none=True, validate=[validate.Length(max=500), _no_nul])


class RectifyIn(_Strict):
    """A correction of a person's details: only the fields given change; the reason is kept with the history."""
    person_id = _id(required=True)
    full_name = fields.String(validate=[validate.Length(min=1, max=200), _no_nul])
    birth_date = fields.Date(allow_none=True, validate=_plausible_birth_date)
    sex = fields.String(allow_none=True, validate=validate.OneOf(SEXES))
    reason = _reason()

    @validates_schema
    def _something_to_correct(self, data, **kwargs):
        if not {"full_name", "birth_date", "sex"} & set(data):
            raise ValidationError("Give at least one detail to correct.", "full_name")
