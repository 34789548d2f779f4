"""Cold start (issue 17): a new Lambda container imports ``app`` before its first request, so
importing it loads only Chalice and the light wiring; X's CRC check (an HMAC) loads nothing
more; a follow loads what it uses (botocore and the logger: no boto3, no pydantic) and nothing else.

Each check runs in a fresh interpreter, as a new container would (bench/cold.py), and names the
heavy packages it found. When one fails: find the top-level import that pulls the package in
(``python -X importtime -c "import app"``) and move it into the function that needs it
(app.py's docstring has the pattern)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest

from bench.cold import HEAVY, invoke_script, moto_endpoint, outcome, rest_event, run_fresh, signed_follow
from chalicelib.x.webhooks import sign

SECRET = "cold-start-consumer-secret"
ACCOUNT = "2244994945"

# What X's CRC may load beyond the standard library and Chalice: nothing on the list.
CRC_ALLOWED: frozenset[str] = frozenset()
# A follow writes to DynamoDB (botocore: the store builds its own conditions and wire values, so
# not boto3, whose import alone costs more than the follow's work) and logs what it did
# (Powertools' Logger). It reads the payload by hand (chalicelib.x.fields) and its settings without
# the model: no pydantic. Never the sentiment model, X's client or the console's templates.
FOLLOW_ALLOWED = frozenset({"botocore", "aws_lambda_powertools"})


def local_env(**extra: str) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AWS_", "X_", "SHOPIFY_", "SECRET_", "SENTIMENT_", "STAGE"))
    }
    return {**env, "STAGE": "local", "ADMIN_TOKEN": "cold-admin-token", "X_CONSUMER_SECRET": SECRET, **extra}


def loaded_by(code: str, env: dict[str, str]) -> list[str]:
    _, printed = run_fresh(
        f"{code}\nimport json, sys\nprint(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))", env
    )
    return sorted(set(json.loads(printed.strip().splitlines()[-1])) & set(HEAVY))


def test_importing_app_loads_no_heavy_package() -> None:
    assert loaded_by("import app", local_env()) == []


def test_a_cold_crc_answers_x_and_loads_no_heavy_package() -> None:
    event = rest_event("GET", "/webhooks/x", query={"crc_token": "Y2hhbGxlbmdl"})
    _, printed = run_fresh(invoke_script(event), local_env())
    result = outcome(printed)
    assert result["status"] == 200
    assert json.loads(result["body"]) == {"response_token": sign(SECRET, b"Y2hhbGxlbmdl")}
    assert sorted(set(result["heavy"]) - CRC_ALLOWED) == []


def test_a_cold_health_check_loads_no_heavy_package() -> None:
    _, printed = run_fresh(invoke_script(rest_event("GET", "/health")), local_env())
    assert outcome(printed) == {"status": 200, "body": '{"status":"ok"}', "heavy": []}


@pytest.fixture(scope="module")
def moto_server() -> Iterator[dict[str, str]]:
    with moto_endpoint() as env:
        yield env


def test_a_cold_follow_is_applied_and_loads_only_what_a_follow_uses(moto_server: dict[str, str]) -> None:
    env = local_env(**moto_server, X_ACCOUNT_ID=ACCOUNT)
    _, printed = run_fresh(invoke_script(signed_follow(ACCOUNT, "8080808080", 1_764_000_000_000, SECRET)), env)
    result = outcome(printed)
    assert (result["status"], json.loads(result["body"])["applied"]) == (200, 1)
    assert "botocore" in result["heavy"]  # the check below would pass vacuously on a path that wrote nothing
    assert sorted(set(result["heavy"]) - FOLLOW_ALLOWED) == []
