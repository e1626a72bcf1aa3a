"""Celery app and tasks: thin wrappers over the hub's jobs."""
