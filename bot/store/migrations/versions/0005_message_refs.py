"""message references: every message sent keeps the platform's reference

Revision ID: 0005
Revises: 0001
Create Date: 2026-12-01 22:00:00.000000

``outboxmessage.external_ref`` holds the reference of what a delivery sent (a thread line, a direct
message, a private notice; a card's first post); ``cardpost.external_ref`` becomes unbounded text,
so it can hold a Teams conversation reference (JSON).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0005"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outboxmessage") as batch:
        batch.add_column(sa.Column("external_ref", sa.Text(), nullable=True))
    with op.batch_alter_table("cardpost") as batch:
        batch.alter_column(
            "external_ref",
            existing_type=sqlmodel.sql.sqltypes.AutoString(length=128),
            type_=sa.Text(),
            existing_nullable=True,
        )


def downgrade() -> None:
    with op.batch_alter_table("cardpost") as batch:
        batch.alter_column(
            "external_ref",
            existing_type=sa.Text(),
            type_=sqlmodel.sql.sqltypes.AutoString(length=128),
            existing_nullable=True,
        )
    with op.batch_alter_table("outboxmessage") as batch:
        batch.drop_column("external_ref")
