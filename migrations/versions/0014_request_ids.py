"""request ids: the web request or workflow run behind ledger, audit and change-set rows

Adds a nullable, indexed `trace_id` to `usage_ledger`, `audit_events` and
`airtable_change_sets`: the id JSON log lines carry (`req-…` for a web request, the run id
for a workflow run), so one question can be followed through every process. Older rows
have none.

Revision ID: 0014
Revises: 0008
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

TABLES = ("usage_ledger", "audit_events", "airtable_change_sets")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column("trace_id", sa.String(64), nullable=True))
        op.create_index(f"ix_{table}_trace_id", table, ["trace_id"])


def downgrade() -> None:
    for table in TABLES:
        op.drop_index(f"ix_{table}_trace_id", table_name=table)
        op.drop_column(table, "trace_id")
