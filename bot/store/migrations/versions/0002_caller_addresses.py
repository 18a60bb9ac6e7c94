"""callers' addresses sized for SIP URIs and client identities

Revision ID: 0002
Revises: 0005
Create Date: 2026-12-01 22:00:00

``call.from_number`` and ``call.to_number`` were VARCHAR(32): a SIP caller's ``From`` made
PostgreSQL refuse the row, and the whole call was lost. (SQLite's CHECKs that hold text to the
declared lengths follow on their own: ``bot.store.limits.hold_sqlite_text``, after every upgrade.)
"""

from collections.abc import Sequence

import sqlmodel
from alembic import op

revision: str = "0002"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("from_number", "to_number")
BEFORE, AFTER = 32, 255


def upgrade() -> None:
    with op.batch_alter_table("call") as batch:
        for column in COLUMNS:
            batch.alter_column(
                column,
                type_=sqlmodel.sql.sqltypes.AutoString(length=AFTER),
                existing_type=sqlmodel.sql.sqltypes.AutoString(length=BEFORE),
                existing_nullable=True,
            )


def downgrade() -> None:
    with op.batch_alter_table("call") as batch:
        for column in COLUMNS:
            batch.alter_column(
                column,
                type_=sqlmodel.sql.sqltypes.AutoString(length=BEFORE),
                existing_type=sqlmodel.sql.sqltypes.AutoString(length=AFTER),
                existing_nullable=True,
                postgresql_using=f"left({column}, {BEFORE})",
            )
