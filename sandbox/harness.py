"""Every vendor emulator on loopback, serving one synthetic company, for the demo, tests and benchmarks.

Example:
    ```python
    with Sandbox(generate_org(500)) as sandbox:
        print(sandbox.bamboohr_url)       # http://127.0.0.1:PORT/api/gateway.php/acme/v1
        os.environ.update(sandbox.credentials())
    ```

Salesforce is served over TLS (simple-salesforce speaks only https): the CA goes to
`state_dir/sandbox-ca.pem`. GA4 checks the service account's signed JWTs: its key goes to
`state_dir/ga4-service-account.json` and is reused on the next start.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from sandbox.bamboohr import BambooHREmulator
from sandbox.ga4 import Ga4Emulator
from sandbox.jira import JiraEmulator
from sandbox.org import SyntheticOrg
from sandbox.salesforce import SalesforceEmulator
from sandbox.server import ServerThread
from sandbox.tls import make_tls
from sandbox.workday import WorkdayEmulator

BAMBOOHR_API_KEY = "sandbox-bamboohr-key"
WORKDAY_CLIENT_ID = "okrhub-sandbox"
WORKDAY_CLIENT_SECRET = "sandbox-workday-secret"  # noqa: S105 - a sandbox credential, public on purpose
WORKDAY_REFRESH_TOKEN = "sandbox-workday-refresh"  # noqa: S105
SALESFORCE_CLIENT_SECRET = "sandbox-salesforce-secret"  # noqa: S105
SALESFORCE_REFRESH_TOKEN = "sandbox-salesforce-refresh"  # noqa: S105
JIRA_API_TOKEN = "sandbox-jira-token"  # noqa: S105
COMPANY = "acme"
DEFAULT_STATE_DIR = Path(".okrhub/sandbox")
"""Where `python -m sandbox` keeps the CA and the GA4 key that `config/hub.yaml` points at."""
GA4_KEY_FILE = "ga4-service-account.json"


class Sandbox:
    """The BambooHR, Workday, Salesforce, Jira and GA4 emulators, each in its own server thread."""

    def __init__(
        self,
        org: SyntheticOrg,
        *,
        host: str = "127.0.0.1",
        ports: dict[str, int] | None = None,
        state_dir: Path | None = None,
        bamboohr_port: int = 0,
        workday_port: int = 0,
    ) -> None:
        ports = {"bamboohr": bamboohr_port, "workday": workday_port, **(ports or {})}
        self._tmp = None if state_dir is not None else tempfile.TemporaryDirectory(prefix="okrhub-sandbox-")
        self.state_dir = state_dir if state_dir is not None else Path(self._tmp.name)  # type: ignore[union-attr]
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.org = org
        self.bamboohr = BambooHREmulator(org, company=COMPANY, api_key=BAMBOOHR_API_KEY)
        self.workday = WorkdayEmulator(
            org,
            tenant=COMPANY,
            client_id=WORKDAY_CLIENT_ID,
            client_secret=WORKDAY_CLIENT_SECRET,
            refresh_token=WORKDAY_REFRESH_TOKEN,
        )
        self.salesforce = SalesforceEmulator(
            org, client_secret=SALESFORCE_CLIENT_SECRET, refresh_token=SALESFORCE_REFRESH_TOKEN
        )
        self.jira = JiraEmulator(org, api_token=JIRA_API_TOKEN)
        self.ga4 = Ga4Emulator(org)
        self._trust_ga4_key()
        tls = make_tls(self.state_dir)
        self.ca_bundle = tls.ca_pem
        self._servers = {
            "bamboohr": ServerThread(self.bamboohr, host=host, port=ports.get("bamboohr", 0)),
            "workday": ServerThread(self.workday, host=host, port=ports.get("workday", 0)),
            "salesforce": ServerThread(
                self.salesforce, host=host, port=ports.get("salesforce", 0), ssl_context=tls.context
            ),
            "jira": ServerThread(self.jira, host=host, port=ports.get("jira", 0)),
            "ga4": ServerThread(self.ga4, host=host, port=ports.get("ga4", 0)),
        }

    def _trust_ga4_key(self) -> None:
        path = self.state_dir / GA4_KEY_FILE
        if path.is_file():
            info = json.loads(path.read_text())
            private = serialization.load_pem_private_key(info["private_key"].encode(), password=None)
            public = private.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            self.ga4.trust_key(info["private_key_id"], public)
        else:
            path.write_text(json.dumps(self.ga4.issue_key(), indent=2))
            path.chmod(0o600)

    @property
    def ga4_key_file(self) -> Path:
        """The GA4 service-account JSON key the emulator trusts."""
        return self.state_dir / GA4_KEY_FILE

    def url(self, name: str) -> str:
        """Base URL of one emulator's server (`bamboohr`, `workday`, `salesforce`, `jira`, `ga4`)."""
        return self._servers[name].url

    @property
    def bamboohr_url(self) -> str:
        """Base URL of the BambooHR API (the `/v1` prefix included)."""
        return f"{self.url('bamboohr')}/api/gateway.php/{COMPANY}/v1"

    @property
    def workday_url(self) -> str:
        """Base URL of the Workday host."""
        return self.url("workday")

    @staticmethod
    def credentials() -> dict[str, str]:
        """The environment variables `config/hub.yaml` references, set to the sandbox's credentials."""
        return {
            "BAMBOOHR_API_KEY": BAMBOOHR_API_KEY,
            "WORKDAY_CLIENT_SECRET": WORKDAY_CLIENT_SECRET,
            "WORKDAY_REFRESH_TOKEN": WORKDAY_REFRESH_TOKEN,
            "SALESFORCE_CLIENT_SECRET": SALESFORCE_CLIENT_SECRET,
            "SALESFORCE_REFRESH_TOKEN": SALESFORCE_REFRESH_TOKEN,
            "JIRA_API_TOKEN": JIRA_API_TOKEN,
        }

    def start(self) -> Sandbox:
        """Start every server."""
        for server in self._servers.values():
            server.start()
        return self

    def stop(self) -> None:
        """Stop every server."""
        for server in self._servers.values():
            server.stop()
        if self._tmp is not None:
            self._tmp.cleanup()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
