"""staff: every channel identity, not the Slack user alone

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 07:40:00.000000

The ``staff`` table mirrors the organisation files. It kept ``slack_user`` only, so a staff member
known on Teams or by phone looked, in the database, like one reached nowhere. ``identities`` holds
``StaffMember.identities()``: how the person is known on each channel (``slack``, ``teams``,
``console``, ``whatsapp``, ``sms``). The table is written again from the files at every start.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("staff") as batch:
        batch.add_column(sa.Column("identities", sa.JSON(), nullable=False, server_default=sa.text("'{}'")))
        batch.drop_column("slack_user")


def downgrade() -> None:
    with op.batch_alter_table("staff") as batch:
        batch.add_column(sa.Column("slack_user", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch.drop_column("identities")
