"""The secret through the AWS Parameters and Secrets Lambda Extension, when the stack attaches it.

In a cloud stage the first request of a container needs X's consumer secret (a CRC, a signed
webhook) or the admin token. Asking Secrets Manager through the SDK means importing botocore and
building a client first: about 1.5x the time of ``import boto3`` before the CRC's HMAC. The
extension is a small server inside the Lambda environment that fetches the secret with the
function's own role and keeps it: a plain HTTP GET on localhost, the standard library only.

The stack sets ``PARAMETERS_SECRETS_EXTENSION_HTTP_PORT`` only when it attaches the extension's
layer (infra/template.json, ``SecretsExtensionLayerArn``); without it, or if the extension cannot
answer, the SDK is asked as before. The request carries the function's session token, as the
extension requires; neither the token nor the answer's body is ever logged or echoed.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Mapping
from urllib.parse import quote

PORT_VARIABLE = "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"  # the extension's own setting
TOKEN_HEADER = "X-Aws-Parameters-Secrets-Token"  # noqa: S105 - a header's name
TIMEOUT_SECONDS = 2.0


class ExtensionUnavailable(RuntimeError):
    """The extension is not configured here, or could not give the secret (the reason says why,
    never with the secret or the token in it)."""


def extension_port(environ: Mapping[str, str]) -> int | None:
    """The extension's port when the stack attached it, else None."""
    raw = environ.get(PORT_VARIABLE)
    if not raw:
        return None
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise ExtensionUnavailable(f"{PORT_VARIABLE} is not a port number")
    return int(raw)


def secret_string(secret_id: str, port: int, session_token: str) -> str:
    """The ``SecretString`` of ``secret_id`` (its ARN), as the extension answers GetSecretValue."""
    if not session_token:
        raise ExtensionUnavailable("AWS_SESSION_TOKEN is not set")
    connection = http.client.HTTPConnection("localhost", port, timeout=TIMEOUT_SECONDS)
    try:
        connection.request(
            "GET", f"/secretsmanager/get?secretId={quote(secret_id, safe='')}", headers={TOKEN_HEADER: session_token}
        )
        response = connection.getresponse()
        status, body = response.status, response.read()
    except (OSError, http.client.HTTPException) as error:
        raise ExtensionUnavailable(f"no answer from the extension ({type(error).__name__})") from None
    finally:
        connection.close()
    if status != 200:
        raise ExtensionUnavailable(f"the extension answered {status}")
    try:
        value = json.loads(body).get("SecretString")
    except (ValueError, AttributeError):
        value = None
    if not isinstance(value, str):
        raise ExtensionUnavailable("the extension's answer has no SecretString")
    return value
