"""prompt run status: failed runs are kept, with what the person was told

Adds `status` (`ok` or `failed`) and `error` to `prompt_runs`; existing runs answered, so
they are `ok` with no error.

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "prompt_runs",
        sa.Column("status", sa.String(20), nullable=False, server_default="ok"),
    )
    op.add_column(
        "prompt_runs",
        sa.Column("error", sa.Text(), nullable=False, server_default=""),
    )


def downgrade() -> None:
    with op.batch_alter_table("prompt_runs") as batch:
        batch.drop_column("error")
        batch.drop_column("status")
