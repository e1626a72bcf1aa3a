"""Jira (Cloud or Data Center): a metric source answering JQL counts, sums and averages."""

from __future__ import annotations

from connectors.jira.connector import JiraConnector

__all__ = ["JiraConnector"]
