"""`python -m hub.cli`: the same as the `okrhub` command."""

from hub.cli.main import app

app()
