"""Persistence: SQLModel tables, the session factory, migrations."""
