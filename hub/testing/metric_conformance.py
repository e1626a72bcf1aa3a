"""The conformance kit for metric sources (Salesforce, Jira, GA4): the same tests for each.

A connector's test package defines a `metric_harness` fixture (a `MetricHarness`) and one line:

    ```python
    TestMetricConformance = make_metric_source_tests()
    ```

The generated tests prove what the update job relies on: `check()` passes with good
credentials and fails with an actionable `AuthError` with bad ones; a query whose answer spans
several pages returns the same value the emulator's own data gives; a grouped query answers
every group; 429 is retried; 401 becomes `AuthError`; a query the vendor refuses becomes that
result's `QueryRejected` while the rest of the batch stands; no secret reaches logs or errors.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from hub.errors import AuthError, OkrHubError, QueryRejected
from hub.http.stats import CallStats
from hub.metrics import MetricResult, QueryRequest


@dataclass(frozen=True, kw_only=True)
class MetricHarness:
    """One metric connector wired to its running emulator.

    - `make(bad_credentials=False, stats=CallStats())` builds the connector.
    - `emulator` is the running `sandbox.server.EmulatorApp` (faults, request log).
    - `secrets` are the secret values given to the connector.
    - `query_path` is a regex of the emulator path queries go to (where faults are injected).
    - `paged` is a request whose answer spans several pages, and `paged_expected` its value
      computed from the emulator's own data.
    - `grouped` is a grouped request, and `grouped_expected` its groups from the emulator's data.
    - `rejected` is a request the vendor refuses (a misspelt object or field).
    """

    make: Callable[..., Any]
    emulator: Any
    secrets: frozenset[str]
    query_path: str
    paged: QueryRequest
    paged_expected: float
    grouped: QueryRequest
    grouped_expected: Mapping[str, float]
    rejected: QueryRequest

    def connector(self, *, bad_credentials: bool = False, stats: CallStats | None = None) -> Any:
        """A connector built by `make`."""
        return self.make(bad_credentials=bad_credentials, stats=stats or CallStats())

    def run(self, *requests: QueryRequest, stats: CallStats | None = None) -> dict[str, MetricResult]:
        """Run requests on a fresh connector and return the results by key."""
        connector = self.connector(stats=stats)
        try:
            return {result.key: result for result in connector.run_queries(list(requests))}
        finally:
            connector.close()


def make_metric_source_tests() -> type:
    """A test class (assign it to a `Test...` name) that runs the metric conformance tests."""

    class MetricSourceConformance:
        def test_check_passes_with_good_credentials(self, metric_harness: MetricHarness) -> None:
            connector = metric_harness.connector()
            try:
                assert connector.check().ok
            finally:
                connector.close()

        def test_check_fails_with_an_actionable_auth_error(self, metric_harness: MetricHarness) -> None:
            connector = metric_harness.connector(bad_credentials=True)
            with pytest.raises(AuthError) as info:
                connector.check()
            connector.close()
            assert info.value.connection
            assert info.value.connection in str(info.value)
            for secret in metric_harness.secrets:
                assert secret not in str(info.value)

        def test_a_value_over_several_pages_matches_the_source(self, metric_harness: MetricHarness) -> None:
            stats = CallStats()
            result = metric_harness.run(metric_harness.paged, stats=stats)[metric_harness.paged.key]
            assert result.error is None, result.error
            assert result.value == pytest.approx(metric_harness.paged_expected)
            assert stats.api_calls >= 2, "the paged request must really span pages"
            assert result.evidence, "a result carries its evidence"

        def test_a_grouped_query_answers_every_group(self, metric_harness: MetricHarness) -> None:
            result = metric_harness.run(metric_harness.grouped)[metric_harness.grouped.key]
            assert result.error is None, result.error
            assert dict(result.groups) == pytest.approx(dict(metric_harness.grouped_expected))

        def test_a_refused_query_fails_alone(self, metric_harness: MetricHarness) -> None:
            results = metric_harness.run(metric_harness.rejected, metric_harness.grouped)
            assert isinstance(results[metric_harness.rejected.key].error, QueryRejected)
            assert results[metric_harness.grouped.key].error is None

        def test_429_is_retried(self, metric_harness: MetricHarness) -> None:
            from sandbox.server import Fault

            metric_harness.emulator.faults.inject(
                Fault(kind="status", status=429, retry_after="0", path=metric_harness.query_path)
            )
            stats = CallStats()
            result = metric_harness.run(metric_harness.grouped, stats=stats)[metric_harness.grouped.key]
            assert result.error is None, result.error
            assert stats.retries >= 1

        def test_401_becomes_an_auth_error(self, metric_harness: MetricHarness) -> None:
            from sandbox.server import Fault

            metric_harness.emulator.faults.inject(
                Fault(kind="status", status=401, path=metric_harness.query_path, times=10)
            )
            with pytest.raises(AuthError):
                metric_harness.run(metric_harness.grouped)

        def test_no_secret_reaches_logs_or_errors(
            self, metric_harness: MetricHarness, caplog: pytest.LogCaptureFixture
        ) -> None:
            caplog.set_level(logging.DEBUG)
            texts: list[str] = []
            bad = metric_harness.connector(bad_credentials=True)
            try:
                bad.check()
            except OkrHubError as exc:
                texts += [str(exc), repr(exc.attrs())]
            bad.close()
            results = metric_harness.run(metric_harness.rejected, metric_harness.grouped)
            texts += [str(r.error) for r in results.values() if r.error] + [
                repr(r.evidence) for r in results.values()
            ]
            texts.append(caplog.text)
            for secret in metric_harness.secrets:
                assert all(secret not in text for text in texts)

    return MetricSourceConformance
