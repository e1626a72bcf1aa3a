"""BambooHR: the org source (people, reporting lines, departments) over the v1 REST API."""

from __future__ import annotations

from connectors.bamboohr.connector import BambooHRConnector

__all__ = ["BambooHRConnector"]
