"""Workday connector: org source over RaaS (default) or the REST workers resource."""

from __future__ import annotations

from connectors.workday.connector import WorkdayConnector

__all__ = ["WorkdayConnector"]
