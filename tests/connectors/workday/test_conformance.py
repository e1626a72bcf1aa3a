"""The shared connector conformance tests, run on the Workday connector (RaaS mode) and its emulator."""

from __future__ import annotations

from hub.testing.conformance import make_connector_tests

TestConformance = make_connector_tests()
