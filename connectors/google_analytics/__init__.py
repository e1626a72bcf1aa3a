"""Google Analytics 4: a metric source over the Data API v1beta (reports batched five per call)."""

from __future__ import annotations

from connectors.google_analytics.connector import GoogleAnalyticsConnector

__all__ = ["GoogleAnalyticsConnector"]
