"""Alembic environment of the store; run it through `hub.store.migrate`, not the alembic CLI."""
