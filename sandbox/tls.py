"""TLS for the emulators: a throwaway CA and a server certificate for the loopback host.

Some SDKs only speak `https://` (simple-salesforce builds every URL as `https://{instance}/...`),
so their emulators must serve TLS. `make_tls` makes a CA with `trustme`, issues a certificate for
`127.0.0.1` and `localhost`, and writes the CA to a PEM file that clients trust through their
`ca_bundle` setting.

Example:
    ```python
    context, ca_pem = make_tls(tmp_path)
    with ServerThread(app, ssl_context=context) as server:
        session = requests.Session()
        session.trust_env = False   # else REQUESTS_CA_BUNDLE overrides `verify`
        session.get(server.url + "/services/data", verify=str(ca_pem))
    ```
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import NamedTuple

import trustme

SERVER_HOSTS = ("127.0.0.1", "localhost")
"""The names the server certificate is valid for."""


class ServerTls(NamedTuple):
    """What `make_tls` returns: the server's SSL context and the CA file clients trust."""

    context: ssl.SSLContext
    ca_pem: Path


def make_tls(tmp_dir: Path | str) -> ServerTls:
    """A fresh CA and a server certificate for the loopback host.

    Args:
        tmp_dir: a folder to write `sandbox-ca.pem` into (a pytest `tmp_path` will do).

    Returns:
        The server-side `ssl.SSLContext` for `ServerThread(ssl_context=...)` and the path of the
        CA certificate in PEM, for the client's `ca_bundle`.
    """
    ca = trustme.CA(organization_name="okrhub sandbox")
    cert = ca.issue_cert(*SERVER_HOSTS)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    folder = Path(tmp_dir)
    folder.mkdir(parents=True, exist_ok=True)
    ca_pem = folder / "sandbox-ca.pem"
    ca.cert_pem.write_to_path(str(ca_pem))
    return ServerTls(context, ca_pem)
