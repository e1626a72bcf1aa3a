"""`python -m sandbox`."""

from sandbox.cli import app

app()
