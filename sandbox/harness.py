"""Both HCM emulators on loopback, serving one synthetic company, for the demo, tests and benchmarks.

Example:
    ```python
    with Sandbox(generate_org(500)) as sandbox:
        print(sandbox.bamboohr_url)       # http://127.0.0.1:PORT/api/gateway.php/acme/v1
        os.environ.update(sandbox.credentials())
    ```
"""

from __future__ import annotations

from sandbox.bamboohr import BambooHREmulator
from sandbox.org import SyntheticOrg
from sandbox.server import ServerThread
from sandbox.workday import WorkdayEmulator

BAMBOOHR_API_KEY = "sandbox-bamboohr-key"
WORKDAY_CLIENT_ID = "okrhub-sandbox"
WORKDAY_CLIENT_SECRET = "sandbox-workday-secret"  # noqa: S105 - a sandbox credential, public on purpose
WORKDAY_REFRESH_TOKEN = "sandbox-workday-refresh"  # noqa: S105
COMPANY = "acme"


class Sandbox:
    """The BambooHR and Workday emulators, each in its own server thread."""

    def __init__(
        self, org: SyntheticOrg, *, host: str = "127.0.0.1", bamboohr_port: int = 0, workday_port: int = 0
    ) -> None:
        self.org = org
        self.bamboohr = BambooHREmulator(org, company=COMPANY, api_key=BAMBOOHR_API_KEY)
        self.workday = WorkdayEmulator(
            org,
            tenant=COMPANY,
            client_id=WORKDAY_CLIENT_ID,
            client_secret=WORKDAY_CLIENT_SECRET,
            refresh_token=WORKDAY_REFRESH_TOKEN,
        )
        self._servers = [
            ServerThread(self.bamboohr, host=host, port=bamboohr_port),
            ServerThread(self.workday, host=host, port=workday_port),
        ]

    @property
    def bamboohr_url(self) -> str:
        """Base URL of the BambooHR API (the `/v1` prefix included)."""
        return f"{self._servers[0].url}/api/gateway.php/{COMPANY}/v1"

    @property
    def workday_url(self) -> str:
        """Base URL of the Workday host."""
        return self._servers[1].url

    @staticmethod
    def credentials() -> dict[str, str]:
        """The environment variables `config/hub.yaml` references, set to the sandbox's credentials."""
        return {
            "BAMBOOHR_API_KEY": BAMBOOHR_API_KEY,
            "WORKDAY_CLIENT_SECRET": WORKDAY_CLIENT_SECRET,
            "WORKDAY_REFRESH_TOKEN": WORKDAY_REFRESH_TOKEN,
        }

    def start(self) -> Sandbox:
        """Start both servers."""
        for server in self._servers:
            server.start()
        return self

    def stop(self) -> None:
        """Stop both servers."""
        for server in self._servers:
            server.stop()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
