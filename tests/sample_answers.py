"""The sample answers live with the demo data; tests use the same ones."""
from engine.services.demo_answers import *  # noqa: F401,F403
from engine.services.demo_answers import SAMPLE_ANSWERS, SAMPLE_START_DATA, answers, approval, assessment, referral  # noqa: F401
