"""Salesforce: a metric source, SOQL over the REST query API through simple-salesforce."""

from __future__ import annotations

from connectors.salesforce.connector import SalesforceConnector

__all__ = ["SalesforceConnector"]
