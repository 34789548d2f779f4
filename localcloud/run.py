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
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parent.parent
REGION = "us-east-1"
LOCAL_SECRETS = ("ADMIN_TOKEN", "X_CONSUMER_SECRET", "SHOPIFY_WEBHOOK_SECRET")
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

        for source in self.app.event_sources:
            if isinstance(source, ScheduledEventConfig):
                period = self.tick_seconds or schedule_period(source.schedule_expression)
                self._spawn(f"timer:{source.name}", self._timer, source.name, period)
            elif isinstance(source, SQSEventConfig):
                url = self.queue_urls.get(source.name)
                if url is None:
                    raise KeyError(f"no queue wired to {source.name} in infra/template.json")
                self._spawn(f"poller:{source.name}", self._poller, source.name, url, source.batch_size)

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=5)

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

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per AWS call drowns the app's logs

    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    bound_host, bound_port = server.get_host_and_port()
    return server, f"http://{bound_host}:{bound_port}"


def configure_environment(endpoint: str, environ: dict[str, str] | None = None) -> dict[str, str]:
    """Point the app at moto and fill in the local stage's settings and secrets (user values win)."""
    env = os.environ if environ is None else environ
    env["AWS_ENDPOINT_URL"] = endpoint
    env.setdefault("AWS_ACCESS_KEY_ID", "local")
    env.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    env.setdefault("AWS_DEFAULT_REGION", REGION)
    env["AWS_REGION"] = env["AWS_DEFAULT_REGION"]
    for name, value in stage_environment("local").items():
        env.setdefault(name, value)
    for name in LOCAL_SECRETS:
        env.setdefault(name, secrets.token_urlsafe(24))
    env.setdefault("X_ACCOUNT_ID", "1111111")
    return dict(env)


def _interrupt(*_: Any) -> None:
    raise KeyboardInterrupt


def main() -> int:
    port = int(os.environ.get("PORT", "8000"))
    tick = float(os.environ["LOCAL_TICK_SECONDS"]) if os.environ.get("LOCAL_TICK_SECONDS") else None
    moto_server, endpoint = start_moto()
    env = configure_environment(endpoint)

    import boto3

    from localcloud.provision import consumers, provision

    session: Any = boto3.session.Session(region_name=env["AWS_DEFAULT_REGION"])
    stack = provision(session.client, stage="local", region=env["AWS_DEFAULT_REGION"])
    os.environ.update(stack.environment)
    env.update(stack.environment)

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
    server: LocalDevServer = create_local_server(app_module.app, config, "127.0.0.1", port)

    signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops it as cleanly as Ctrl-C
    http_thread = threading.Thread(target=server.server.serve_forever, name="http", daemon=True)
    http_thread.start()
    cloud.start()

    print(f"outlet is running on http://127.0.0.1:{port}  (embedded AWS at {endpoint})")
    print(f"  ADMIN_TOKEN={env['ADMIN_TOKEN']}")
    print(f"  X_CONSUMER_SECRET={env['X_CONSUMER_SECRET']}")
    print(f"  SHOPIFY_WEBHOOK_SECRET={env['SHOPIFY_WEBHOOK_SECRET']}")
    print(f"  X_ACCOUNT_ID={env['X_ACCOUNT_ID']}  PUBLISHER={env['PUBLISHER']}  table={env['TABLE_NAME']}")
    schedules = ", ".join(s.name for s in app_module.app.event_sources if s.name not in queue_urls)
    print(
        f"  schedules: {schedules or 'none'} ({f'every {tick}s' if tick else 'cloud periods'});"
        f" queues: {', '.join(queue_urls) or 'none'}"
    )
    print("Ctrl-C to stop.", flush=True)
    try:
        # Short sleeps, not Event.wait or one long sleep: the OS may deliver Ctrl-C to any thread,
        # and Python runs the handler only when the main thread next wakes; an Event set from a
        # handler can also deadlock against a main thread waiting on it.
        while True:
            time.sleep(0.2)
    except KeyboardInterrupt:
        print("\nstopping...", flush=True)
    cloud.stop()
    server.shutdown()
    moto_server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
