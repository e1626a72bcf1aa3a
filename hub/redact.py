"""Keep loaded secrets out of logs and error text.

`RedactingFilter` is installed by the CLI and the workers on their handlers; `redact` is used
wherever text that may echo a vendor response is built into an error.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

MASK = "***"
_MIN_SECRET_LENGTH = 4


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret value replaced by `***` (longest first, so overlaps mask fully)."""
    for secret in sorted((s for s in secrets if len(s) >= _MIN_SECRET_LENGTH), key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    return text


class RedactingFilter(logging.Filter):
    """A logging filter that masks every secret in a record's rendered message and exception text."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = frozenset(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """Mask these values too (a config loaded later adds its secrets)."""
        self.secrets = self.secrets | frozenset(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        """Render the message, mask secrets in it, and keep the record."""
        if not self.secrets:
            return True
        message = record.getMessage()
        record.msg = redact(message, self.secrets)
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info), self.secrets)
        return True
