"""Use cases. Each one writes its state change, its audit event and its outbox rows in one transaction."""
