"""The metric-source conformance kit, run on the GA4 connector against its emulator."""

from __future__ import annotations

from hub.testing.metric_conformance import make_metric_source_tests

TestMetricConformance = make_metric_source_tests()
