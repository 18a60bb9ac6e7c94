"""privacy: one-time download links of privacy exports (Teams)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 01:20:00.000000

``exportlink`` holds, until it is used or expires, the hash of a link a manager was given to
download one number's export (Teams bots cannot hand over a file): its number, organisation and who
asked.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from bot.store.types import UTCDateTime

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "exportlink",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("org_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("number", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("expires_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index(op.f("ix_exportlink_number"), "exportlink", ["number"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_exportlink_number"), table_name="exportlink")
    op.drop_table("exportlink")
