"""Run the Alembic migrations from code (``yordam db upgrade``, tests)."""
from alembic import command
from alembic.config import Config

from ..settings import ROOT
from .database import ensure_sqlite_folder


def alembic_config(url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    if url.startswith("sqlite"):
        ensure_sqlite_folder(url)  # a fresh clone has no instance/ folder yet
    command.upgrade(alembic_config(url), revision)
