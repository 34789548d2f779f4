"""`make run`'s data between runs: the table's items, the queues' messages, the secrets' values and
the local secrets it generated, in one JSON file in ``OUTLET_STATE_DIR``.

Why JSON of items rather than a pickle of moto's backends: the items are DynamoDB's own JSON, so the
file survives a moto upgrade, can be read and diffed by a person, and restores into resources
provisioned afresh from infra/template.json (so a template change applies on the next start);
moto's backends hold locks, threads and version-specific classes that do not pickle reliably.

A snapshot is taken from moto's objects in this process under the DynamoDB lock
(``moto_fixes.DYNAMODB_LOCK``), so it is a state the table was in between two requests, never half
of a transaction. The file is replaced atomically (written beside it, flushed, renamed), so a crash
while saving leaves the previous snapshot whole.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localcloud import moto_fixes

FORMAT = "outlet-local-state"
VERSION = 1
FILE_NAME = "state.json"
SAVE_INTERVAL_SECONDS = 5.0


class UnreadableState(Exception):
    """The state file exists but is not one this version wrote."""


@dataclass
class Snapshot:
    """Everything `make run` restores: item and message lists by resource name."""

    local_secrets: dict[str, str] = field(default_factory=dict)  # ADMIN_TOKEN, ... as printed
    # DynamoDB JSON items: dicts when read from the file, JSON text when captured (a table's worth
    # of text is a fraction of the memory of a table's worth of dicts)
    tables: dict[str, list[Any]] = field(default_factory=dict)
    queues: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # body, attributes, delay
    secret_strings: dict[str, str] = field(default_factory=dict)  # Secrets Manager: name -> value

    def describe(self) -> str:
        items = sum(len(i) for i in self.tables.values())
        messages = sum(len(m) for m in self.queues.values())
        return f"{items:,} items, {messages:,} queued messages"


# --- the file -----------------------------------------------------------------------------


def state_file(directory: Path) -> Path:
    return directory / FILE_NAME


def read_state(directory: Path) -> Snapshot | None:
    """The saved snapshot, or None when there is none (a new, empty or missing directory)."""
    path = state_file(directory)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise UnreadableState(f"{path} cannot be read: {exc}") from exc
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise UnreadableState(f"{path} is not valid JSON ({exc})") from exc
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise UnreadableState(f"{path} is not an outlet state file")
    if document.get("version") != VERSION:
        raise UnreadableState(f"{path} has version {document.get('version')!r}; this outlet reads {VERSION}")
    try:
        snapshot = Snapshot(
            local_secrets=_str_map(document["local_secrets"]),
            tables={str(k): _dict_list(v) for k, v in document["tables"].items()},
            queues={str(k): _dict_list(v) for k, v in document["queues"].items()},
            secret_strings=_str_map(document["secret_strings"]),
        )
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise UnreadableState(f"{path} is incomplete or damaged ({exc!r})") from exc
    return snapshot


def _str_map(value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise TypeError("expected an object of strings")
    return {str(k): v for k, v in value.items()}


def _dict_list(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise TypeError("expected a list of objects")
    return value


def write_state(directory: Path, snapshot: Snapshot) -> None:
    """Replace the state file atomically; readable by the user only (it holds the secrets)."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = state_file(directory)
    temporary = path.with_name(f".{FILE_NAME}.{os.getpid()}.tmp")
    header = {
        "format": FORMAT,
        "version": VERSION,
        "saved_at": dt.datetime.now(dt.UTC).isoformat(),
        "local_secrets": snapshot.local_secrets,
        "secret_strings": snapshot.secret_strings,
        "queues": snapshot.queues,
    }
    tables = ",".join(
        f"{json.dumps(name)}:[{','.join(map(_item_text, items))}]" for name, items in snapshot.tables.items()
    )
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write(f'{_compact(header)[:-1]},"tables":{{{tables}}}}}')
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, path)


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))  # dumps: the C encoder (json.dump is pure Python)


def _item_text(item: Any) -> str:
    return item if isinstance(item, str) else _compact(item)


def set_aside(directory: Path) -> Path | None:
    """FRESH=1: keep the previous state beside the new one (one generation) instead of losing it."""
    path = state_file(directory)
    if not path.exists():
        return None
    previous = path.with_name(FILE_NAME + ".previous")
    os.replace(path, previous)
    return previous


# --- moto's objects in this process --------------------------------------------------------


@dataclass(frozen=True)
class Resources:
    """What to keep: the names of the table(s), queues and secrets, in moto's account and region."""

    account: str
    region: str
    tables: tuple[str, ...]
    queues: tuple[str, ...]
    secrets: tuple[str, ...]


def capture(resources: Resources, local_secrets: dict[str, str]) -> Snapshot:
    """Copy the resources' contents out of moto. Call with ``moto_fixes.DYNAMODB_LOCK`` held."""
    from moto.dynamodb.models import dynamodb_backends
    from moto.secretsmanager.models import secretsmanager_backends
    from moto.sqs.models import sqs_backends

    snapshot = Snapshot(local_secrets=dict(local_secrets))
    ddb = dynamodb_backends[resources.account][resources.region]
    for name in resources.tables:
        table: Any = ddb.get_table(name)
        partitions = table.items.values()
        items = (
            [item for partition in partitions for item in partition.values()]
            if table.range_key_attr
            else list(partitions)
        )
        expired = _expiry(table, time.time())
        snapshot.tables[name] = [
            _compact({k: _attribute_json(v) for k, v in i.attrs.items()}) for i in items if not expired(i)
        ]
    sqs = sqs_backends[resources.account][resources.region]
    now = time.time()
    for name in resources.queues:
        queue = sqs.get_queue(name)
        with queue._messages_lock:
            messages = list(queue._messages)
        snapshot.queues[name] = [
            {
                "body": m.body,
                "attributes": m.message_attributes,
                "delay_seconds": max(0, min(900, round(m.delayed_until / 1000 - now))),  # moto: milliseconds
            }
            for m in messages
        ]
    secrets: Any = secretsmanager_backends[resources.account][resources.region]
    for name in resources.secrets:
        snapshot.secret_strings[name] = secrets.get_secret_value(name, None, None)["SecretString"]
    return snapshot


def _expiry(table: Any, now: float) -> Callable[[Any], bool]:
    """Whether an item's TTL has passed. moto never deletes expired items (DynamoDB does, within
    days); the app already ignores them, and a snapshot leaves them out, so a restart drops them."""
    ttl = table.ttl if table.ttl.get("TimeToLiveStatus") == "ENABLED" else {}
    attribute = ttl.get("AttributeName")

    def expired(item: Any) -> bool:
        value = item.attrs.get(attribute) if attribute else None
        try:
            return value is not None and value.type == "N" and float(value.value) < now
        except ValueError:
            return False

    return expired


def restore(snapshot: Snapshot, resources: Resources, clients: Callable[[str], Any]) -> None:
    """Put a snapshot back into freshly provisioned resources (items straight into moto's table;
    messages and secret values through the API, so moto builds its own objects)."""
    from moto.dynamodb.models import dynamodb_backends

    ddb = dynamodb_backends[resources.account][resources.region]
    with moto_fixes.DYNAMODB_LOCK:
        for name, items in snapshot.tables.items():
            if name in resources.tables:
                table = ddb.get_table(name)
                for item in items:
                    table.put_item(_decode_binary(json.loads(item) if isinstance(item, str) else item))
    sqs = clients("sqs")
    for name, messages in snapshot.queues.items():
        if name not in resources.queues:
            continue
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        for start in range(0, len(messages), 10):
            entries = [
                {
                    "Id": str(n),
                    "MessageBody": m["body"],
                    "DelaySeconds": int(m.get("delay_seconds", 0)),
                    **({"MessageAttributes": m["attributes"]} if m.get("attributes") else {}),
                }
                for n, m in enumerate(messages[start : start + 10])
            ]
            sqs.send_message_batch(QueueUrl=url, Entries=entries)
    secretsmanager = clients("secretsmanager")
    for name, value in snapshot.secret_strings.items():
        if name in resources.secrets:
            secretsmanager.put_secret_value(SecretId=name, SecretString=value)


def _attribute_json(value: Any) -> dict[str, Any]:
    """One of moto's attribute values as DynamoDB JSON, copied (moto updates values in place).
    Quicker than moto's ``Item.to_json``, which deep-copies every map and list it meets; binary
    is spelled in base64 as DynamoDB JSON does."""
    kind, inner = value.type, value.value
    if kind == "M":
        return {"M": {k: _attribute_json(v) for k, v in inner.items()}}
    if kind == "L":
        return {"L": [_attribute_json(v) for v in inner]}
    if kind == "B":
        return {"B": base64.b64encode(inner).decode("ascii") if isinstance(inner, bytes) else inner}
    if kind == "BS":
        return {"BS": [base64.b64encode(v).decode("ascii") if isinstance(v, bytes) else v for v in inner]}
    if isinstance(inner, list):  # SS, NS
        return {kind: list(inner)}
    return {kind: inner}


def _decode_binary(value: Any) -> Any:
    """Items are saved as DynamoDB JSON, where binary is base64 text; moto keeps bytes."""
    if isinstance(value, dict):
        if set(value) == {"B"} and isinstance(value["B"], str):
            return {"B": base64.b64decode(value["B"])}
        if set(value) == {"BS"}:
            return {"BS": [base64.b64decode(v) for v in value["BS"]]}
        return {k: _decode_binary(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode_binary(v) for v in value]
    return value


# --- saving while running ------------------------------------------------------------------


class StateKeeper:
    """Saves a snapshot every ``interval`` seconds when something changed, and once at the end.

    So a crash (kill -9, power) loses at most the changes of the last ``interval`` seconds plus
    the time one save takes; SIGINT, SIGTERM and SIGHUP save everything (``final_save``).
    """

    def __init__(
        self,
        directory: Path,
        resources: Resources,
        local_secrets: dict[str, str],
        *,
        interval: float = SAVE_INTERVAL_SECONDS,
        log: Callable[[str], None] = print,
    ) -> None:
        self.directory = directory
        self.resources = resources
        self.local_secrets = dict(local_secrets)
        self.interval = interval
        self.log = log
        self.saved_at_change = -1
        self._stopping = threading.Event()
        self._writing = threading.Lock()  # one save at a time, so an older snapshot never lands last
        self._thread = threading.Thread(target=self._run, name="state-keeper", daemon=True)

    def start(self) -> None:
        self.save()  # the restored (or empty) state, with this run's secrets, is on disk at once
        self._thread.start()

    def save(self) -> None:
        with self._writing:
            with moto_fixes.DYNAMODB_LOCK:
                change = moto_fixes.changes()
                snapshot = capture(self.resources, self.local_secrets)
            write_state(self.directory, snapshot)
            self.saved_at_change = change

    def final_save(self) -> None:
        """Stop the timer and save, keeping the DynamoDB lock: nothing written after this snapshot
        can complete, so no request is acknowledged whose writes the file does not hold. The
        process must exit right after."""
        self._stopping.set()
        self._writing.acquire()
        moto_fixes.DYNAMODB_LOCK.acquire()
        snapshot = capture(self.resources, self.local_secrets)
        write_state(self.directory, snapshot)

    def _run(self) -> None:
        while not self._stopping.wait(self.interval):
            if moto_fixes.changes() == self.saved_at_change:
                continue
            try:
                self.save()
            except Exception as exc:  # a full disk must not stop the service; the next tick retries
                self.log(f"[state] saving {state_file(self.directory)} failed: {exc!r}")
