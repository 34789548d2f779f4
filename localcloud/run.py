"""`make run`: the whole service on one machine, against an embedded moto server.

`chalice local` serves HTTP only, so this does the rest of what AWS would: it provisions
infra/template.json into moto, serves the Chalice routes, fires every ``@app.schedule`` function
on a timer and polls every queue a function consumes, deleting a message only after its handler
succeeded so failures come back and reach the dead-letter queue after maxReceiveCount.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import logging
import os
import re
import secrets
import shlex
import signal
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from localcloud import state
from localcloud.provision import Stack, consumers, load_template, provision
from localcloud.state import Resources

PROJECT_DIR = Path(__file__).resolve().parent.parent
REGION = "us-east-1"
LOCAL_SECRETS = ("ADMIN_TOKEN", "X_CONSUMER_SECRET", "SHOPIFY_WEBHOOK_SECRET")
STOP_DEADLINE_SECONDS = 10.0  # a stop never takes longer; it normally takes well under two seconds
_RATE_UNITS = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}


@dataclass
class LambdaContext:
    """The slice of Lambda's context object that handlers read."""

    function_name: str
    aws_request_id: str
    memory_limit_in_mb: int = 512
    timeout_seconds: int = 30

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def schedule_period(expression: Any) -> float:
    """Seconds between runs for a Chalice schedule (Rate, Cron or a string); a cron fires each minute."""
    text = expression.to_string() if hasattr(expression, "to_string") else str(expression)
    match = re.fullmatch(r"rate\((\d+) (\w+)\)", text)
    if match:
        return int(match.group(1)) * _RATE_UNITS[match.group(2)]
    return 60.0


def stage_environment(stage: str = "local", project_dir: Path = PROJECT_DIR) -> dict[str, str]:
    """The environment .chalice/config.json gives a stage (top level, then the stage's own)."""
    config = json.loads((project_dir / ".chalice" / "config.json").read_text())
    env = dict(config.get("environment_variables", {}))
    env.update(config.get("stages", {}).get(stage, {}).get("environment_variables", {}))
    return env


class LocalCloud:
    """Runs the event sources of a Chalice app against AWS endpoints (moto) in background threads."""

    def __init__(
        self,
        app_module: ModuleType,
        *,
        queue_urls: Mapping[str, str],
        tick_seconds: float | None = None,
        clients: Callable[[str], Any],
        log: Callable[[str], None] = print,
    ) -> None:
        self.app = app_module.app
        self.queue_urls = dict(queue_urls)  # Chalice handler name -> queue URL
        self.tick_seconds = tick_seconds
        self.clients = clients
        self.log = log
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []
        self.runs: dict[str, int] = {}

    def start(self) -> None:
        from chalice.app import ScheduledEventConfig, SQSEventConfig

        from localcloud import moto_fixes

        # The timers and pollers call moto from their own threads, beside the requests: whatever moto
        # serves them (in this process or the embedded server) must take one change at a time.
        moto_fixes.serialise()
        for source in self.app.event_sources:
            if isinstance(source, ScheduledEventConfig):
                period = self.tick_seconds or schedule_period(source.schedule_expression)
                self._spawn(f"timer:{source.name}", self._timer, source.name, period)
            elif isinstance(source, SQSEventConfig):
                url = self.queue_urls.get(source.name)
                if url is None:
                    raise KeyError(f"no queue wired to {source.name} in infra/template.json")
                self._spawn(f"poller:{source.name}", self._poller, source.name, url, source.batch_size)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the timers and pollers: each finishes the run or batch it is in (a poller's
        receive waits at most a second), all within ``timeout`` together."""
        self.stopping.set()
        deadline = time.monotonic() + timeout
        for thread in self.threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))

    def _spawn(self, name: str, target: Callable[..., None], *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        self.threads.append(thread)
        thread.start()

    def _invoke(self, name: str, event: dict[str, Any]) -> Any:
        context = LambdaContext(function_name=f"outlet-local-{name}", aws_request_id=str(uuid.uuid4()))
        self.runs[name] = self.runs.get(name, 0) + 1
        return self.app.handler_map[name](event, context)

    def _timer(self, name: str, period: float) -> None:
        while not self.stopping.wait(period):
            event = {
                "version": "0",
                "id": str(uuid.uuid4()),
                "detail-type": "Scheduled Event",
                "source": "aws.events",
                "account": "123456789012",
                "time": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "region": REGION,
                "resources": [f"arn:aws:events:{REGION}:123456789012:rule/outlet-local-{name}"],
                "detail": {},
            }
            try:
                self._invoke(name, event)
            except Exception as exc:  # a failed run is retried at the next tick, as EventBridge would not
                self.log(f"[{name}] scheduled run failed: {exc!r}")

    def _poller(self, name: str, url: str, batch_size: int) -> None:
        sqs = self.clients("sqs")
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        while not self.stopping.is_set():
            try:
                received = sqs.receive_message(
                    QueueUrl=url,
                    MaxNumberOfMessages=min(batch_size, 10),
                    WaitTimeSeconds=1,
                    MessageSystemAttributeNames=["All"],
                    MessageAttributeNames=["All"],
                ).get("Messages", [])
            except Exception as exc:
                if not self.stopping.is_set():
                    self.log(f"[{name}] receive failed: {exc!r}")
                    time.sleep(1)
                continue
            if received:
                self._consume(name, sqs, url, arn, received)

    def _consume(self, name: str, sqs: Any, url: str, arn: str, messages: list[dict[str, Any]]) -> None:
        records = [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": m.get("MessageAttributes", {}),
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": arn,
                "awsRegion": REGION,
            }
            for m in messages
        ]
        try:
            result = self._invoke(name, {"Records": records})
            failed = {f["itemIdentifier"] for f in (result or {}).get("batchItemFailures", [])}
        except Exception as exc:  # the whole batch failed: Lambda would retry every record
            self.log(f"[{name}] handler raised {exc!r}; the batch will be retried")
            failed = {m["MessageId"] for m in messages}
        for message in messages:
            if message["MessageId"] not in failed:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            elif self.tick_seconds is not None:
                # Locally, a failed message comes back after one tick instead of the queue's
                # visibility timeout, so a demo reaches the dead-letter queue in seconds.
                sqs.change_message_visibility(
                    QueueUrl=url,
                    ReceiptHandle=message["ReceiptHandle"],
                    VisibilityTimeout=max(0, int(self.tick_seconds)),
                )


def start_moto(host: str = "127.0.0.1", port: int = 0) -> tuple[Any, str]:
    from moto.server import ThreadedMotoServer

    from localcloud import moto_fixes

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per AWS call drowns the app's logs
    moto_fixes.install()  # before the first request: moto is not safe under concurrency without it

    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    bound_host, bound_port = server.get_host_and_port()
    return server, f"http://{bound_host}:{bound_port}"


def call_moto_in_process(endpoint: str, server: Any) -> None:
    """Answer this process's AWS calls to ``endpoint`` by calling the moto server's WSGI app
    directly, as botocore's ``before-send`` hook allows (moto's own mock works the same way): the
    same moto, minus a socket, two HTTP parsers and a thread per connection for each call. Other
    programs (the AWS CLI) still reach moto over HTTP. Register before any boto3 session exists."""
    from urllib.parse import urlsplit

    from botocore.awsrequest import AWSResponse
    from botocore.handlers import BUILTIN_HANDLERS
    from moto.core.botocore_stubber import MockRawResponse
    from werkzeug.test import EnvironBuilder, run_wsgi_app

    app, moto_address = server._server.app, urlsplit(endpoint).netloc

    def send(request: Any, **_: Any) -> Any:
        url = urlsplit(request.url)
        if url.netloc != moto_address:
            return None
        body = request.body.read() if hasattr(request.body, "read") else request.body
        environ = EnvironBuilder(
            path=url.path,
            query_string=url.query,
            method=request.method,
            headers=[(k, v.decode() if isinstance(v, bytes) else v) for k, v in request.headers.items()],
            data=body or b"",
            base_url=f"{url.scheme}://{url.netloc}",
        ).get_environ()
        chunks, status, headers = run_wsgi_app(app, environ, buffered=True)
        try:
            content = b"".join(chunks)
        finally:
            getattr(chunks, "close", lambda: None)()
        response_headers: Any = dict(headers)
        return AWSResponse(request.url, int(status.split()[0]), response_headers, MockRawResponse(content))

    BUILTIN_HANDLERS.append(("before-send", send))


def configure_environment(
    endpoint: str, environ: dict[str, str] | None = None, saved_secrets: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Point the app at moto and fill in the local stage's settings and secrets: the user's values
    win, then the ones the last run generated (so signed webhooks keep working), then new ones."""
    env = os.environ if environ is None else environ
    env["AWS_ENDPOINT_URL"] = endpoint
    env.setdefault("AWS_ACCESS_KEY_ID", "local")
    env.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    env.setdefault("AWS_DEFAULT_REGION", REGION)
    env["AWS_REGION"] = env["AWS_DEFAULT_REGION"]
    for name, value in stage_environment("local").items():
        env.setdefault(name, value)
    for name in LOCAL_SECRETS:
        env.setdefault(name, (saved_secrets or {}).get(name) or secrets.token_urlsafe(24))
    env.setdefault("X_ACCOUNT_ID", "1111111")
    return dict(env)


def settings_banner(port: int, env: Mapping[str, str]) -> list[str]:
    """What a user pastes into another shell to call this server (README's examples read these)."""
    values = {
        "PORT": str(port),
        "BASE_URL": f"http://127.0.0.1:{port}",
        "ADMIN_TOKEN": env["ADMIN_TOKEN"],
        "X_CONSUMER_SECRET": env["X_CONSUMER_SECRET"],
        "SHOPIFY_WEBHOOK_SECRET": env["SHOPIFY_WEBHOOK_SECRET"],
        "X_ACCOUNT_ID": env["X_ACCOUNT_ID"],
    }
    return [f"export {name}={shlex.quote(value)}" for name, value in values.items()]


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether the HTTP server can bind ``port`` (with SO_REUSEADDR, as http.server does)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def die_with_parent() -> None:
    """Linux: SIGTERM this process when the process that started it (make) dies, even by SIGKILL,
    so no orphaned server keeps the port. Must run in the main thread of a process started from
    its parent's main thread (the signal follows the parent *thread*)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    parent = os.getppid()
    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    if os.getppid() != parent:  # the parent died before the request took effect
        os.kill(os.getpid(), signal.SIGTERM)


class StopSignal:
    """Remembers the first stop signal. The handler only stores a number: anything more (raising
    in the main thread, setting an Event the main thread waits on) can deadlock or land mid-save."""

    def __init__(self) -> None:
        self.received: int | None = None

    def install(self) -> None:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, self._handle)

    def _handle(self, signum: int, _frame: Any) -> None:
        if self.received is None:
            self.received = signum

    def wait(self) -> int:
        while self.received is None:
            time.sleep(0.1)
        return self.received


def exit_within(seconds: float) -> None:
    """A stop that has not finished in ``seconds`` ends the process anyway (and says so)."""

    def expire() -> None:
        print(f"outlet: stopping took over {seconds:.0f}s; exiting without waiting", file=sys.stderr, flush=True)
        os._exit(1)

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()


def main() -> int:  # noqa: PLR0915 - the start-up sequence reads best in one place
    port = int(os.environ.get("PORT", "8000"))
    tick = float(os.environ["LOCAL_TICK_SECONDS"]) if os.environ.get("LOCAL_TICK_SECONDS") else None
    state_dir = Path(os.environ.get("OUTLET_STATE_DIR") or ".outlet")
    fresh = os.environ.get("OUTLET_FRESH", "").lower() in ("1", "true", "yes")
    stop = StopSignal()
    stop.install()
    die_with_parent()

    if not port_is_free(port):
        print(f"outlet: port {port} is already in use (another `make run`?); stop it or set PORT", file=sys.stderr)
        return 1
    try:
        previous = state.set_aside(state_dir) if fresh else None
        saved = None if fresh else state.read_state(state_dir)
    except state.UnreadableState as exc:
        print(f"outlet: {exc}; move it away, or start empty with `make run FRESH=1`", file=sys.stderr)
        return 2

    moto_server, endpoint = start_moto()
    call_moto_in_process(endpoint, moto_server)
    env = configure_environment(endpoint, saved_secrets=saved.local_secrets if saved else None)

    import boto3

    session: Any = boto3.session.Session(region_name=env["AWS_DEFAULT_REGION"])
    stack = provision(session.client, stage="local", region=env["AWS_DEFAULT_REGION"])
    os.environ.update(stack.environment)
    env.update(stack.environment)
    resources = kept_resources(stack, env["AWS_DEFAULT_REGION"])
    if saved is not None:
        state.restore(saved, resources, session.client)

    sys.path.insert(0, str(PROJECT_DIR))
    app_module = importlib.import_module("app")
    from chalice.cli.factory import CLIFactory
    from chalice.local import LocalDevServer
    from chalice.utils import to_cfn_resource_name

    from localcloud.gateway import create_local_server

    queue_of = consumers()
    queue_urls = {
        source.name: stack.refs[queue_of[to_cfn_resource_name(source.name)]]
        for source in app_module.app.event_sources
        if to_cfn_resource_name(source.name) in queue_of
    }
    cloud = LocalCloud(app_module, queue_urls=queue_urls, tick_seconds=tick, clients=session.client)
    config = CLIFactory(str(PROJECT_DIR)).create_config_obj(chalice_stage_name="local")
    try:
        server: LocalDevServer = create_local_server(app_module.app, config, "127.0.0.1", port)
    except OSError as exc:  # taken between the check and now
        print(f"outlet: port {port} is already in use ({exc.strerror}); stop it or set PORT", file=sys.stderr)
        moto_server.stop()
        return 1
    keeper = state.StateKeeper(state_dir, resources, {name: env[name] for name in LOCAL_SECRETS})
    keeper.start()

    http_thread = threading.Thread(target=server.server.serve_forever, name="http", daemon=True)
    http_thread.start()
    cloud.start()

    restored = f"restored {saved.describe()}" if saved else "starting empty"
    if previous:
        restored += f" (FRESH=1: the last state is kept as {previous})"
    print(f"outlet is running on http://127.0.0.1:{port}  (embedded AWS at {endpoint})")
    print(f"  data in {state_dir}/: {restored}; saved every {state.SAVE_INTERVAL_SECONDS:.0f}s and on stop")
    print("  settings for another shell:")
    for line in settings_banner(port, env):
        print(f"    {line}")
    print(f"  PUBLISHER={env['PUBLISHER']}  table={env['TABLE_NAME']}")
    schedules = ", ".join(s.name for s in app_module.app.event_sources if s.name not in queue_urls)
    print(
        f"  schedules: {schedules or 'none'} ({f'every {tick}s' if tick else 'cloud periods'});"
        f" queues: {', '.join(queue_urls) or 'none'}"
    )
    from localcloud.operators import ensure_local_operator

    print(f"  console: http://127.0.0.1:{port}/console  {ensure_local_operator(env)}")
    print("Ctrl-C to stop.", flush=True)

    received = stop.wait()
    exit_within(STOP_DEADLINE_SECONDS)
    print(f"\nstopping ({signal.Signals(received).name})...", flush=True)
    server.shutdown()  # no new requests; ones in flight finish or block on the table below
    cloud.stopping.set()
    keeper.final_save()  # holds the table until exit: nothing acknowledged after the snapshot
    print(f"saved {state.state_file(state_dir)}", flush=True)
    # Exit now rather than unwind: request, timer and moto threads are daemons mid-call, and the
    # data is on disk. Waiting for them is what made stopping slow after heavy load.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def kept_resources(stack: Stack, region: str) -> Resources:
    """What `make run` saves: the template's table(s), queues and secrets, by name."""
    types = {logical_id: resource.get("Type") for logical_id, resource in load_template()["Resources"].items()}

    def named(kind: str, attribute: str) -> tuple[str, ...]:
        return tuple(stack.attributes[i][attribute] for i, t in types.items() if t == kind and i in stack.attributes)

    tables = tuple(stack.refs[i] for i, t in types.items() if t == "AWS::DynamoDB::Table" and i in stack.refs)
    table_arn = named("AWS::DynamoDB::Table", "Arn")[0]
    return Resources(
        account=table_arn.split(":")[4],
        region=region,
        tables=tables,
        queues=named("AWS::SQS::Queue", "QueueName"),
        secrets=named("AWS::SecretsManager::Secret", "Name"),
    )


if __name__ == "__main__":
    sys.exit(main())
