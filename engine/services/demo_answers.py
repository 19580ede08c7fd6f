"""One valid answer set per form key of the default case-management process.

``SAMPLE_ANSWERS[form_key]`` is a complete, valid submission for ``forms/<form_key>.form.json``.
The defaults walk the plain path: non-urgent referral, client in need (two risk factors, so
risk level "medium"), plan with consent, monitoring ``continue``, closure without follow-up.
Use the helpers to vary the decisions that gateways look at; they return fresh copies, so tests
may mutate them freely.
"""
import copy

SAMPLE_START_DATA = {
    # What the engine seeds into the start event (example values).
    'case_id': 1,
    'channel': 'mahalla',
    'summary': 'Elderly woman living alone, cannot heat her home.',
    'subject_kind': 'person',
    'mahalla_id': 1,
    'district_id': 1,
}

SAMPLE_ANSWERS = {
    'register_referral': {
        'address': "Bog'ishamol mahalla, Navoiy street 12, flat 3",
        'presenting_problems': ['housing', 'loneliness'],
        'client_categories': ['elderly_alone'],
        'immediate_danger': False,
        'violence': False,
        'child_at_risk_flag': False,
        'referral_notes': 'Referred by the mahalla chairman; neighbours bring food.',
    },
    'urgent_response': {
        'actions_taken': 'Visited the same day with the district inspector; the child is with the grandmother.',
        'safety_ensured': True,
        'referred_to': ['police', 'guardianship'],
    },
    'urgent_supervisor_review': {
        'acknowledged': True,
        'instructions': 'Inform the commission on minors tomorrow morning.',
    },
    'needs_assessment': {
        'visit_date': '2025-12-02',
        'living_conditions': 'poor',
        'health_selfcare': 'needs_some_help',
        'monthly_income': 1200000,
        'monthly_expenses': 1500000,
        'household_size': 1,
        'needs': ['household', 'medical'],
        'risk_factors': ['social_isolation', 'chronic_illness'],
        'strengths': 'Good relations with neighbours; a daughter in Tashkent calls weekly.',
        'in_need': 'yes',
        'assessment_summary': 'Lives alone, no heating this winter, needs help with shopping and medicines.',
    },
    'recognition_of_need': {'decision': 'approved'},
    'service_plan': {
        'goals': 'Warm and safe home for the winter; regular medical check-ups.',
        'services': [
            {
                'service_type': 'household',
                'provider': 'Inson centre home-help service',
                'frequency': 'twice a week',
                'responsible': 'Social worker',
                'target_date': '2026-03-01',
            },
            {
                'service_type': 'material_aid',
                'provider': 'District khokimiyat',
                'frequency': 'once',
                'responsible': 'Supervisor',
                'target_date': '2025-12-20',
            },
        ],
        'client_commitments': 'Takes medicines as prescribed; lets the home-help worker in.',
        'client_consent': True,
    },
    'plan_approval': {'decision': 'approved'},
    'service_delivery': {
        'delivered': [
            {
                'service_type': 'household',
                'delivered_on': '2025-12-09',
                'provider': 'Inson centre home-help service',
                'result': 'Shopping and cleaning done.',
            },
        ],
        'referrals': ['health'],
        'delivery_notes': 'Family doctor visit arranged for next week.',
    },
    'monitoring_visit': {
        'visit_date': '2026-01-08',
        'situation': 'improved',
        'goals_progress': 'Heating repaired; visits the polyclinic monthly.',
        'outcome': 'continue',
        'visit_notes': 'Neighbour confirms daily visits.',
    },
    'closure_proposal': {
        'closure_reason': 'goals_achieved',
        'closure_summary': 'Living conditions restored; the daughter has taken over the shopping.',
        'follow_up_check': False,
    },
    'closure_approval': {'decision': 'approved'},
    'closure_confirmation': {'decision': 'approved'},
    'follow_up_visit': {
        'visit_date': '2026-07-01',
        'follow_up_situation': 'stable',
        'follow_up_notes': 'Managing well.',
    },
}

APPROVAL_FORMS = ('recognition_of_need', 'plan_approval', 'closure_approval', 'closure_confirmation')


def answers(form_key, **overrides):
    """A fresh copy of the sample answers for ``form_key`` with ``overrides`` applied."""
    data = copy.deepcopy(SAMPLE_ANSWERS[form_key])
    data.update(overrides)
    return data


def approval(decision, comment=None):
    """Answers for any approval form. A returned decision always carries a comment."""
    if decision not in ('approved', 'returned'):
        raise ValueError(f'decision must be "approved" or "returned", not {decision!r}')
    data = {'decision': decision}
    if comment is None and decision == 'returned':
        comment = 'Please complete the missing information.'
    if comment is not None:
        data['comment'] = comment
    return data


def referral(urgent=False):
    """Referral answers; ``urgent=True`` ticks the violence and child-at-risk flags."""
    if not urgent:
        return answers('register_referral')
    return answers('register_referral', presenting_problems=['violence', 'child_neglect'],
                   client_categories=['child_at_risk', 'domestic_violence'],
                   violence=True, child_at_risk_flag=True)


def assessment(in_need=True, risk_factors=None, needs=None):
    """Needs-assessment answers. Risk level: urgent or >= 3 factors -> high, 1-2 -> medium,
    0 factors with needs -> low, nothing -> none."""
    data = answers('needs_assessment', in_need='yes' if in_need else 'no')
    if risk_factors is not None:
        data['risk_factors'] = list(risk_factors)
    if needs is not None:
        data['needs'] = list(needs)
    return data


def monitoring(outcome='continue'):
    """Monitoring-visit answers with ``outcome`` in continue / revise_plan / close."""
    if outcome not in ('continue', 'revise_plan', 'close'):
        raise ValueError(f'unknown outcome {outcome!r}')
    return answers('monitoring_visit', outcome=outcome)


def closure(reason='goals_achieved', follow_up=False):
    """Closure-proposal answers."""
    return answers('closure_proposal', closure_reason=reason, follow_up_check=follow_up)
