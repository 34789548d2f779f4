"""Cold starts, each in a fresh interpreter as a new Lambda container runs it: the process imports
``app`` and hands one API Gateway (REST proxy) event to the Chalice app object, exactly what the
Lambda runtime does with ``app.app``. (Not through ``chalice.test.Client``: that harness imports
botocore and Chalice's CLI, ~0.25 s that no Lambda pays.)

Each script prints one JSON line: the response, and which heavy packages the process loaded.
The floors (``import boto3``, ``import chalice``) run alternately with the cold starts they are
compared with, so a machine that slows down slows both.

Two times per process: until it has answered (its work done: what a cold request waits for; a
Lambda container is not torn down after its first request) and until it has exited. The second
adds the interpreter's teardown, which grows with what the process loaded (its final garbage
collection: ~150 ms after a boto3 client), and which no request ever waits for. Both are shown;
the targets are read on the first. Each script ends by printing ``time.monotonic()``: on Linux one
clock for every process, so the parent subtracts the moment it started the child.
"""

from __future__ import annotations

import contextlib
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parent.parent

# What a light route must not load (issue 17). Top-level package names.
HEAVY = (
    "boto3",
    "botocore",
    "pydantic",
    "pydantic_core",
    "aws_lambda_powertools",
    "vaderSentiment",
    "tweepy",
    "requests",
    "jinja2",
)


def rest_event(
    method: str,
    path: str,
    *,
    query: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    body: str | None = None,
) -> dict[str, Any]:
    """An API Gateway REST proxy event, as Lambda hands it to ``app.app`` (no path parameters)."""
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": dict(headers or {}),
        "multiValueHeaders": {k: [v] for k, v in (headers or {}).items()},
        "queryStringParameters": dict(query) if query else None,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": path,
            "httpMethod": method,
            "path": f"/api{path}",
            "stage": "api",
            "requestId": "cold-start-bench",
            "identity": {"sourceIp": "127.0.0.1"},
        },
        "body": body,
        "isBase64Encoded": False,
    }


def invoke_script(event: Mapping[str, Any]) -> str:
    """Python source: import app, answer ``event`` through the app object, print the outcome."""
    return f"""
import json, sys
import app
response = app.app(json.loads({json.dumps(json.dumps(event))}), None)
heavy = sorted({{m.split(".")[0] for m in sys.modules}} & set({list(HEAVY)!r}))
print(json.dumps({{"status": response["statusCode"], "body": response["body"], "heavy": heavy}}))
"""


IMPORT_BOTO3 = "import boto3"
IMPORT_CHALICE = "import chalice.app"


@dataclass(frozen=True)
class Timing:
    """One fresh process: seconds from its start until its work was done, and until it exited."""

    answered: float
    exited: float


READY = "\nimport time as _cold_clock\nprint('ready', _cold_clock.monotonic())\n"


def run_timed(code: str, env: Mapping[str, str]) -> Timing:
    """Run ``code`` in a new interpreter; when it was done (its last statement) and when it exited."""
    start = time.monotonic()
    _, stdout = run_fresh(code + READY, env)
    exited = time.monotonic() - start
    word, ready = stdout.strip().splitlines()[-1].split()
    if word != "ready":
        raise RuntimeError(f"the fresh process did not say when it was done: {stdout[-300:]}")
    return Timing(answered=float(ready) - start, exited=exited)


def run_fresh(code: str, env: Mapping[str, str]) -> tuple[float, str]:
    """Run ``code`` in a new interpreter; its wall time (start to exit) and what it printed."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT, env=dict(env), capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"the fresh process failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return seconds, done.stdout


def outcome(stdout: str) -> dict[str, Any]:
    """The JSON line an ``invoke_script`` printed."""
    line = next(line for line in reversed(stdout.strip().splitlines()) if line.startswith("{"))
    result: dict[str, Any] = json.loads(line)
    return result


def answered(code: str, env: Mapping[str, str]) -> dict[str, Any]:
    """Run an ``invoke_script`` once and insist on a 2xx: a bench must not time a failure."""
    result = outcome(run_fresh(code, env)[1])
    if not 200 <= result["status"] < 300:
        raise RuntimeError(f"the cold request failed: {result}")
    return result


def alternated(
    cases: Mapping[str, Callable[[int], str]], env: Mapping[str, str], pairs: int = 7
) -> dict[str, list[Timing]]:
    """``alternated_in`` with one environment for every case and round."""
    return alternated_in(cases, dict.fromkeys(cases, lambda i: env), pairs)


def alternated_in(
    cases: Mapping[str, Callable[[int], str]],
    envs: Mapping[str, Callable[[int], Mapping[str, str]]],
    pairs: int = 7,
) -> dict[str, list[Timing]]:
    """The timings of each case's fresh process, ``pairs`` rounds, the cases taking turns (the
    order rotates each round). ``cases`` give the code of round ``i``, ``envs`` its environment.
    One unmeasured warm-up round (``i`` = -1) first fills the OS file cache for all of them."""
    names = list(cases)
    for name in names:
        run_fresh(cases[name](-1), envs[name](-1))
    samples: dict[str, list[Timing]] = {name: [] for name in names}
    for i in range(pairs):
        for name in names[i % len(names) :] + names[: i % len(names)]:
            samples[name].append(run_timed(cases[name](i), envs[name](i)))
    return samples


def median_ms(samples: dict[str, list[Timing]], name: str, *, exited: bool = False) -> float:
    return statistics.median(t.exited if exited else t.answered for t in samples[name]) * 1000


def median_ratio(samples: dict[str, list[Timing]], numerator: str, denominator: str, *, exited: bool = False) -> float:
    """The median of the per-round ratios (each round's pair ran back to back)."""
    pairs = zip(samples[numerator], samples[denominator], strict=True)
    if exited:
        return statistics.median(a.exited / b.exited for a, b in pairs)
    return statistics.median(a.answered / b.answered for a, b in pairs)


@contextlib.contextmanager
def moto_endpoint() -> Iterator[dict[str, str]]:
    """A moto server in this process with the template's resources; yields the environment a
    fresh process needs to reach it (endpoint, credentials, the stack's names)."""
    import logging

    from moto.server import ThreadedMotoServer

    from localcloud.provision import provision

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per AWS call otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        env = {
            "AWS_ACCESS_KEY_ID": "cold",  # moto takes any credentials
            "AWS_SECRET_ACCESS_KEY": "cold",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": endpoint,
        }
        stack = provision(lambda service: client_for(env, service), stage="local")
        yield {**env, **stack.environment}
    finally:
        server.stop()


def client_for(env: Mapping[str, str], service: str) -> Any:
    """A boto3 client for the moto server ``moto_endpoint`` describes."""
    import boto3

    session: Any = boto3.session.Session(
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=env["AWS_DEFAULT_REGION"],
    )
    return session.client(service, endpoint_url=env["AWS_ENDPOINT_URL"])


def signed_follow(account: str, follower: str, millis: int, secret: str) -> dict[str, Any]:
    """``POST /webhooks/x`` with the Account Activity API follow fixture, signed with ``secret``."""
    from chalicelib.x.webhooks import sign

    payload: dict[str, Any] = json.loads((PROJECT / "tests/events/x/x_follow_event.json").read_text())
    follow = payload["follow_events"][0]
    follow["created_timestamp"], follow["target"]["id"] = str(millis), account
    follow["source"]["id"], follow["source"]["screen_name"] = follower, f"user{follower}"
    payload["for_user_id"] = account
    body = json.dumps(payload)
    headers = {"content-type": "application/json", "x-twitter-webhooks-signature": sign(secret, body.encode())}
    return rest_event("POST", "/webhooks/x", headers=headers, body=body)


def transaction_script(table: str, tag: str, items: int) -> str:
    """Python source: import boto3, make a client, write one transaction of ``items`` updates."""
    return f"""
import boto3
key = lambda n: {{"PK": {{"S": "FLOOR#{tag}#" + str(n)}}, "SK": {{"S": "x"}}}}
add = {{"UpdateExpression": "ADD n :one", "ExpressionAttributeValues": {{":one": {{"N": "1"}}}}}}
ops = [{{"Update": {{"TableName": {table!r}, "Key": key(n), **add}}}} for n in range({items})]
boto3.session.Session().client("dynamodb").transact_write_items(TransactItems=ops)
"""


# What the Lambda Python runtime puts beside the zip (/var/runtime): boto3 and what it needs.
RUNTIME_PACKAGES = ("boto3", "botocore", "dateutil", "jmespath", "s3transfer", "six")


@dataclass(frozen=True)
class LambdaTask:
    """The deployment zip unpacked as Lambda unpacks it, twice: as shipped (with the bytecode
    infra/slim.py adds) and without any bytecode (what Chalice's zip gives Lambda: /var/task is
    read-only, so every module compiles at import); and the runtime's boto3 beside them."""

    shipped: Path
    uncompiled: Path
    runtime: Path

    def script(self, task: Path, code: str) -> str:
        """``code`` run with the unpacked zip, then the runtime's packages, first on the path (as
        Lambda orders them), and no bytecode written: /var/task is read-only."""
        first = f"import sys\nsys.dont_write_bytecode = True\nsys.path[:0] = [{str(task)!r}, {str(self.runtime)!r}]"
        return f"{first}\n{code}"


def lambda_task(where: Path) -> LambdaTask:
    """`make package`'s zip (``chalice package`` and infra/slim.py) unpacked under ``where``."""
    import importlib.util
    import os
    import zipfile

    from infra.slim import slim

    out = where / "package"
    subprocess.run(
        [str(Path(sys.executable).with_name("chalice")), "package", "--stage", "dev", str(out)],
        cwd=PROJECT,
        env={**os.environ, "AWS_DEFAULT_REGION": "us-east-1"},
        check=True,
        capture_output=True,
    )
    archive = out / "deployment.zip"
    slim(archive)
    task = LambdaTask(where / "task", where / "uncompiled", where / "runtime")
    for folder in (task.shipped, task.uncompiled):
        zipfile.ZipFile(archive).extractall(folder)
    for cached in list(task.uncompiled.rglob("__pycache__")):
        for pyc in cached.iterdir():
            pyc.unlink()
        cached.rmdir()
    task.runtime.mkdir()
    for name in RUNTIME_PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise RuntimeError(f"{name} is not installed")
        source = Path(spec.origin)
        (task.runtime / (source.parent if source.name == "__init__.py" else source).name).symlink_to(
            source.parent if source.name == "__init__.py" else source
        )
    return task


class ExtensionStandIn:
    """The AWS Parameters and Secrets Lambda Extension as a function sees it: an HTTP server on
    localhost answering ``GET /secretsmanager/get?secretId=<arn>`` with GetSecretValue's JSON,
    only to a request carrying the function's session token. Records what it was asked.

    ``fetch`` gets a secret it does not hold yet, as the extension asks Secrets Manager on its
    first request and keeps the answer; ``stall`` delays every answer (an extension that hangs).
    The extension's own start-up, during Lambda's INIT phase, is not played here."""

    def __init__(
        self,
        secrets: dict[str, Any],
        session_token: str,
        *,
        fetch: Callable[[str], str] | None = None,
        stall: float = 0.0,
    ) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        from urllib.parse import parse_qs, urlsplit

        self.secrets = secrets
        self.asked: list[tuple[str, str | None]] = []
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlsplit(self.path)
                secret_id = parse_qs(url.query).get("secretId", [""])[0]
                token = self.headers.get("X-Aws-Parameters-Secrets-Token")
                stand_in.asked.append((secret_id, token))
                time.sleep(stall)
                if fetch is not None and secret_id not in stand_in.secrets:
                    stand_in.secrets[secret_id] = fetch(secret_id)
                if token != session_token:
                    self.answer(401, {"message": "bad token"})
                elif url.path != "/secretsmanager/get" or secret_id not in stand_in.secrets:
                    self.answer(400, {"message": "not found"})
                else:
                    self.answer(200, {"ARN": secret_id, "Name": "outlet", "SecretString": stand_in.secrets[secret_id]})

            def answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    return  # the function gave up waiting

            def log_message(self, *_: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]

    def __enter__(self) -> ExtensionStandIn:
        import threading

        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()
