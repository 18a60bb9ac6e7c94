"""indexes for the digest, weekly review and calibration: a day of one organisation

Revision ID: 0007
Revises: 0001
Create Date: 2026-12-01 22:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_card_org_created", "card", ["org_id", "created_at"], unique=False)
    op.create_index("ix_auditevent_org_at", "auditevent", ["org_id", "at"], unique=False)
    op.create_index("ix_call_org_started", "call", ["org_id", "started_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_call_org_started", table_name="call")
    op.drop_index("ix_auditevent_org_at", table_name="auditevent")
    op.drop_index("ix_card_org_created", table_name="card")
