"""Run by test_package.py as ``python -S package_smoke.py <unzipped package> <boto3's folder>``: with
only the package's contents and boto3 (what the Lambda runtime adds) on sys.path, every chalicelib
module imports and the app answers. Prints one JSON line of what it saw."""

from __future__ import annotations

import base64
import hashlib
import hmac
import importlib
import json
import os
import pkgutil
import sys
import warnings
from types import SimpleNamespace
from typing import Any


def event(method: str, resource: str, path: str, query: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": {"host": "example.execute-api.us-east-1.amazonaws.com"},
        "multiValueHeaders": {},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in (query or {}).items()} or None,
        "pathParameters": None,
        "stageVariables": None,
        "body": None,
        "isBase64Encoded": False,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "path": f"/api{path}",
            "stage": "api",
            "identity": {"sourceIp": "203.0.113.9"},
        },
    }


def main() -> None:
    import chalicelib

    modules = sorted(m.name for m in pkgutil.walk_packages(chalicelib.__path__, "chalicelib."))
    for name in modules:
        importlib.import_module(name)
    from app import app
    from chalicelib.posts import weighted_length
    from chalicelib.sentiment import default_classifier
    from chalicelib.x.publisher import x_client

    context = SimpleNamespace(
        function_name="api_handler",
        aws_request_id="smoke",
        memory_limit_in_mb=512,
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:smoke",
    )
    health = app(event("GET", "/health", "/health"), context)
    crc = app(event("GET", "/webhooks/x", "/webhooks/x", {"crc_token": "dGVzdA"}), context)
    sign_in = app(event("GET", "/console/sign-in", "/console/sign-in"), context)
    expected = base64.b64encode(hmac.new(b"smoke-secret", b"dGVzdA", hashlib.sha256).digest()).decode()

    import requests
    from requests_oauthlib import OAuth1  # type: ignore[import-untyped]

    signed = requests.Request(
        "POST", "https://api.x.com/2/tweets", json={"text": "hi"}, auth=OAuth1("ck", "cs", "at", "ats")
    ).prepare()
    header = signed.headers["Authorization"]  # oauthlib signs in bytes
    authorization = header.decode() if isinstance(header, bytes) else header
    undeclared = requests.models.Response()
    undeclared._content = "Déjà vu".encode()  # no charset named: requests detects it
    print(
        json.dumps(
            {
                "modules": len(modules),
                "health": [health["statusCode"], json.loads(health["body"])],
                "crc": json.loads(crc["body"])["response_token"] == f"sha256={expected}",
                "sign_in": [sign_in["statusCode"], "csrf_token" in sign_in["body"]],
                "length": weighted_length("Deal 😀 https://example.com/x"),
                "sentiment": default_classifier().score("I love this deal!").label,  # the model file, from the zip
                "client": type(x_client("ck", "cs", "at", "ats")).__name__,
                "oauth": authorization.startswith("OAuth "),
                "detected": undeclared.text,
            }
        )
    )


if __name__ == "__main__":
    sys.path[0:1] = sys.argv[1:3]  # not this script's folder: the package, then boto3
    warnings.simplefilter("error")  # a missing optional piece (e.g. character detection) warns: fail on it
    os.environ.update(
        STAGE="local",
        ADMIN_TOKEN="smoke-admin-token",
        X_CONSUMER_SECRET="smoke-secret",
        AWS_DEFAULT_REGION="us-east-1",
        TABLE_NAME="outlet-smoke",
    )
    main()
