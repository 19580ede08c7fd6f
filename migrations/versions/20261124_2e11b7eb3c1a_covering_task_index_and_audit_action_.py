"""covering task indexes and an audit (action, at) index for monthly reports

ix_tasks_completed_at (tasks completed in a month) gets the columns the report reads as INCLUDE columns on
PostgreSQL; ix_tasks_case_created (a case's tasks in opening order, with the same kind of INCLUDE columns) gives
the stage at a month's end and the spans of stages finished in it; ix_audit_action_at finds a month's
task.completed audit rows. Measured with bench/reports.py (docs/benchmarks.md, "Monthly reports at 1,000,000
cases"). On SQLite the INCLUDE columns are left out.

Revision ID: 2e11b7eb3c1a
Revises: 3667ad1e758d
Create Date: 2026-11-24 01:47:12.517424

"""
from typing import Sequence, Union

from alembic import op


# revision identifiers, used by Alembic.
revision: str = '2e11b7eb3c1a'
down_revision: Union[str, Sequence[str], None] = '3667ad1e758d'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

COMPLETED_INCLUDE = ['case_id', 'id', 'kind', 'state', 'stage', 'due_at', 'district_id', 'mahalla_id', 'assignee_id']
CASE_INCLUDE = ['stage', 'kind', 'state', 'completed_at', 'district_id', 'mahalla_id', 'assignee_id']


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index('ix_audit_action_at', ['action', 'at'], unique=False)

    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_tasks_completed_at')
        batch_op.create_index('ix_tasks_completed_at', ['completed_at'], unique=False,
                              postgresql_include=COMPLETED_INCLUDE)
        batch_op.create_index('ix_tasks_case_created', ['case_id', 'created_at', 'id'], unique=False,
                              postgresql_include=CASE_INCLUDE)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_tasks_case_created')
        batch_op.drop_index('ix_tasks_completed_at')
        batch_op.create_index('ix_tasks_completed_at', ['completed_at'], unique=False)

    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_action_at')
