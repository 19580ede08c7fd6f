"""Words for the engine's codes (stages, roles, risk levels, channels ...), translated at display time."""
from __future__ import annotations

from flask_babel import gettext as _

from engine.i18n import N_
from engine.services.notifications import PURPOSE_NAMES

STAGES = {"identification": N_("Identification"), "assessment": N_("Assessment"), "planning": N_("Planning"),
          "delivery": N_("Delivery"), "monitoring": N_("Monitoring"), "closure": N_("Closure")}
ROLES = {"social_worker": N_("Social worker"), "supervisor": N_("Supervisor"), "center_head": N_("Centre head"),
         "specialist": N_("Specialist"), "methodologist": N_("Methodologist"), "admin": N_("Administrator")}
RISKS = {"none": N_("No risk"), "low": N_("Low risk"), "medium": N_("Medium risk"), "high": N_("High risk")}
CHANNELS = {"mahalla": N_("Mahalla"), "self": N_("Came in person"), "polyclinic": N_("Polyclinic"),
            "school": N_("School"), "police": N_("Police"), "information_system": N_("Information system"),
            "other": N_("Other")}
STATUSES = {"open": N_("Open"), "closed": N_("Closed"), "completed": N_("Completed"), "cancelled": N_("Cancelled")}
SEXES = {"female": N_("Female"), "male": N_("Male")}
RELATIONS = {"head": N_("Head of household"), "spouse": N_("Spouse"), "child": N_("Child"), "parent": N_("Parent"),
             "sibling": N_("Brother or sister"), "grandparent": N_("Grandparent"), "grandchild": N_("Grandchild"),
             "other": N_("Other relative")}
WAITING_FOR = {"client": N_("Waiting for the client"), "agency": N_("Waiting for another agency"),
               "other": N_("Waiting for something else")}
ACTIONS = {"reassign": N_("Give the task to another worker"), "extend": N_("Extend the deadline"),
           "acknowledge": N_("Acknowledge (the worker is on it)")}
CONSENT_PURPOSES = {"assessment": N_("Assessment"), "data_sharing": N_("Data sharing"), "referral": N_("Referral")}
CONSENT_GIVERS = {"person": N_("The person themselves"), "legal_representative": N_("A legal representative")}
CONSENT_STATUSES = {"valid": N_("Valid"), "expired": N_("Expired"), "revoked": N_("Revoked"),
                    "not_yet_given": N_("Not yet in force")}

TABLES = {"stage": STAGES, "role": ROLES, "risk": RISKS, "channel": CHANNELS, "status": STATUSES, "sex": SEXES,
          "relation": RELATIONS, "waiting_for": WAITING_FOR, "action": ACTIONS, "consent_purpose": CONSENT_PURPOSES,
          "consent_given_by": CONSENT_GIVERS, "consent_status": CONSENT_STATUSES,
          "consent_purpose_word": PURPOSE_NAMES}  # inside a sentence: "a valid consent for referral"


def label(table: str, code) -> str:
    if code is None:
        return "—"
    text = TABLES[table].get(code)
    return _(text) if text else str(code)
