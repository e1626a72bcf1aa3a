"""The connector conformance kit, run on the BambooHR connector against its emulator."""

from __future__ import annotations

from hub.testing.conformance import make_connector_tests

TestBambooHRConformance = make_connector_tests()
