"""The secret through the AWS Parameters and Secrets Lambda Extension (chalicelib/secrets_extension.py):
a cold CRC in a cloud stage asks the extension on localhost and loads no SDK; when the extension
cannot answer, Secrets Manager is asked through the SDK as before. A small HTTP server stands in for
the extension, answering as it does (GetSecretValue's JSON) only to the function's session token."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from bench.cold import ExtensionStandIn, client_for, invoke_script, outcome, rest_event, run_fresh
from chalicelib.secrets_extension import ExtensionUnavailable, extension_port, secret_string
from chalicelib.x.webhooks import sign
from tests.integration.test_cold_start import local_env

CONSUMER_SECRET = "extension-consumer-secret"
SESSION_TOKEN = "session-token-of-the-function"
CRC = rest_event("GET", "/webhooks/x", query={"crc_token": "Y2hhbGxlbmdl"})


@pytest.fixture
def extension() -> Iterator[ExtensionStandIn]:
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:outlet-dev-abc"
    secret = json.dumps({"admin_token": "t", "x_consumer_secret": CONSUMER_SECRET})
    with ExtensionStandIn({arn: secret}, SESSION_TOKEN) as stand_in:
        yield stand_in


def cloud_env(extension: ExtensionStandIn, **extra: str) -> dict[str, str]:
    env = local_env(STAGE="dev", SECRET_ARN=next(iter(extension.secrets)), AWS_SESSION_TOKEN=SESSION_TOKEN)
    env.pop("X_CONSUMER_SECRET")  # a cloud stage never reads secrets from its environment
    return {**env, "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(extension.port), **extra}


def test_a_cold_crc_in_a_cloud_stage_reads_the_secret_through_the_extension_without_the_sdk(
    extension: ExtensionStandIn,
) -> None:
    _, printed = run_fresh(invoke_script(CRC), cloud_env(extension))
    result = outcome(printed)
    assert result["status"] == 200
    assert json.loads(result["body"]) == {"response_token": sign(CONSUMER_SECRET, b"Y2hhbGxlbmdl")}
    assert result["heavy"] == []  # no boto3, no botocore
    assert extension.asked == [(next(iter(extension.secrets)), SESSION_TOKEN)]


@pytest.fixture(scope="module")
def moto_server() -> Iterator[dict[str, str]]:
    """A moto server holding only the secret (test_cold_start's holds the whole stack)."""
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        env = {
            "AWS_ACCESS_KEY_ID": "extension",
            "AWS_SECRET_ACCESS_KEY": "extension",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": f"http://{host}:{port}",
        }
        created = client_for(env, "secretsmanager").create_secret(Name="outlet-extension-fallback-test")
        yield {**env, "SECRET_ARN": created["ARN"]}
    finally:
        server.stop()


@pytest.mark.parametrize("why", ["refused", "no extension listening", "not a port", "hangs"])
def test_when_the_extension_cannot_answer_secrets_manager_is_asked(
    extension: ExtensionStandIn, moto_server: dict[str, str], why: str
) -> None:
    # Given the secret in Secrets Manager (moto), and an extension that cannot give it
    secret = json.dumps({"admin_token": "t", "x_consumer_secret": CONSUMER_SECRET})
    client_for(moto_server, "secretsmanager").put_secret_value(SecretId=moto_server["SECRET_ARN"], SecretString=secret)
    env = {**cloud_env(extension), **moto_server}
    with ExtensionStandIn(dict(extension.secrets), SESSION_TOKEN, stall=3.0) as hanging:
        env["PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"] = {
            "refused": str(extension.port),  # it does not hold this secret
            "no extension listening": "9",
            "not a port": "²",
            "hangs": str(hanging.port),  # answers after 3 s: given up after 2
        }[why]
        # When a cold CRC comes
        _, printed = run_fresh(invoke_script(CRC), env)
    # Then it is answered with the secret from the SDK, and the log says why, never with a credential
    result = outcome(printed)
    assert result["status"] == 200
    assert json.loads(result["body"]) == {"response_token": sign(CONSUMER_SECRET, b"Y2hhbGxlbmdl")}
    assert "botocore" in result["heavy"]
    assert "secrets extension unavailable" in printed
    assert SESSION_TOKEN not in printed
    assert CONSUMER_SECRET not in printed


def test_the_extension_client_gives_the_secret_string(extension: ExtensionStandIn) -> None:
    arn = next(iter(extension.secrets))
    assert json.loads(secret_string(arn, extension.port, SESSION_TOKEN))["x_consumer_secret"] == CONSUMER_SECRET


def test_the_extension_client_refuses_another_token(extension: ExtensionStandIn) -> None:
    with pytest.raises(ExtensionUnavailable, match="answered 401"):
        secret_string(next(iter(extension.secrets)), extension.port, "someone else's token")
    with pytest.raises(ExtensionUnavailable, match="AWS_SESSION_TOKEN is not set"):
        secret_string(next(iter(extension.secrets)), extension.port, "")
    injected = f"{SESSION_TOKEN}\r\nX-Injected: 1"
    with pytest.raises(ExtensionUnavailable, match="not a header value") as refused:
        secret_string(next(iter(extension.secrets)), extension.port, injected)
    assert SESSION_TOKEN not in str(refused.value)
    assert len(extension.asked) == 1  # the token with a line break in it was never sent


def test_the_extension_client_refuses_an_answer_that_is_not_a_secret(extension: ExtensionStandIn) -> None:
    arn = next(iter(extension.secrets))
    extension.secrets[arn] = 42  # a SecretString that is not a string
    with pytest.raises(ExtensionUnavailable, match="no SecretString"):
        secret_string(arn, extension.port, SESSION_TOKEN)
    extension.secrets[arn] = "x" * 200_000  # more than any secret can be
    with pytest.raises(ExtensionUnavailable, match="too large"):
        secret_string(arn, extension.port, SESSION_TOKEN)


def test_the_extension_client_gives_up_on_time(extension: ExtensionStandIn) -> None:
    slow = ExtensionStandIn(dict(extension.secrets), SESSION_TOKEN, stall=1.0)
    with slow, pytest.raises(ExtensionUnavailable, match="TimeoutError"):
        secret_string(next(iter(slow.secrets)), slow.port, SESSION_TOKEN, timeout=0.3)


@pytest.mark.parametrize(("raw", "port"), [(None, None), ("", None), ("2773", 2773)])
def test_the_extension_port_comes_from_the_stack(raw: str | None, port: int | None) -> None:
    environ = {} if raw is None else {"PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": raw}
    assert extension_port(environ) == port


@pytest.mark.parametrize("raw", ["99999", "0", "²", "27 73", "-1"])
def test_a_port_that_is_not_one_is_refused(raw: str) -> None:
    with pytest.raises(ExtensionUnavailable, match="not a port number"):
        extension_port({"PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": raw})
