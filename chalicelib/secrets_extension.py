"""The secret through the AWS Parameters and Secrets Lambda Extension, when the stack attaches it.

In a cloud stage the first request of a container needs X's consumer secret (a CRC, a signed
webhook) or the admin token. Asking Secrets Manager through the SDK means importing botocore and
building a client first: a cold CRC takes 1.40x the time of ``import boto3`` so, and 0.53x this
way (``python -m bench cold``). The extension is a small server inside the Lambda environment that
fetches the secret with the function's own role and keeps it: a plain HTTP GET on localhost, the
standard library only.

The stack sets ``PARAMETERS_SECRETS_EXTENSION_HTTP_PORT`` only when it attaches the extension's
layer (infra/template.json, ``SecretsExtensionLayerArn``); without it, or if the extension cannot
answer, the SDK is asked as before. The request carries the function's session token, as the
extension requires; neither the token nor the answer's body is ever logged or echoed.
"""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Mapping
from urllib.parse import quote

PORT_VARIABLE = "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"  # the extension's own setting
TOKEN_HEADER = "X-Aws-Parameters-Secrets-Token"  # noqa: S105 - a header's name
TIMEOUT_SECONDS = 2.0  # for the whole exchange, not each read
MAX_ANSWER_BYTES = 128 * 1024  # a secret is at most 64 KB; GetSecretValue's JSON adds little


class ExtensionUnavailable(RuntimeError):
    """The extension is not configured here, or could not give the secret (the reason says why,
    never with the secret or the token in it)."""


def extension_port(environ: Mapping[str, str]) -> int | None:
    """The extension's port when the stack attached it, else None."""
    raw = environ.get(PORT_VARIABLE)
    if not raw:
        return None
    if not (raw.isascii() and raw.isdecimal()) or not 0 < int(raw) < 65536:
        raise ExtensionUnavailable(f"{PORT_VARIABLE} is not a port number")
    return int(raw)


def secret_string(secret_id: str, port: int, session_token: str, *, timeout: float = TIMEOUT_SECONDS) -> str:
    """The ``SecretString`` of ``secret_id`` (its ARN), as the extension answers GetSecretValue,
    within ``timeout`` seconds in all and ``MAX_ANSWER_BYTES``."""
    if not session_token:
        raise ExtensionUnavailable("AWS_SESSION_TOKEN is not set")
    if not (session_token.isascii() and session_token.isprintable()):
        raise ExtensionUnavailable("AWS_SESSION_TOKEN is not a header value")  # never sent, never shown
    deadline = time.monotonic() + timeout
    connection = http.client.HTTPConnection("localhost", port, timeout=timeout)
    try:
        connection.request(
            "GET", f"/secretsmanager/get?secretId={quote(secret_id, safe='')}", headers={TOKEN_HEADER: session_token}
        )
        response = connection.getresponse()
        body = _read_until(connection, response, deadline)
    except (OSError, ValueError, http.client.HTTPException) as error:
        raise ExtensionUnavailable(f"no answer from the extension ({type(error).__name__})") from None
    finally:
        connection.close()
    if response.status != 200:
        raise ExtensionUnavailable(f"the extension answered {response.status}")
    try:
        value = json.loads(body).get("SecretString")
    except (ValueError, AttributeError):
        value = None
    if not isinstance(value, str):
        raise ExtensionUnavailable("the extension's answer has no SecretString")
    return value


def _read_until(connection: http.client.HTTPConnection, response: http.client.HTTPResponse, deadline: float) -> bytes:
    """The answer's body, read in pieces while time and size allow (a slow or endless answer is
    given up, not waited for)."""
    body = bytearray()
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        if connection.sock is not None:
            connection.sock.settimeout(left)
        piece = response.read1(16 * 1024)
        if not piece:
            return bytes(body)
        body += piece
        if len(body) > MAX_ANSWER_BYTES:
            raise ExtensionUnavailable("the extension's answer is too large")
