"""The load figure: concurrent senders of signed X deliveries and Shopify orders against a real
`make run` process, then an exactness check against a plain replay of the distinct events.

X deliveries mix both envelopes (Account Activity API follows and unfollows with their own event
times; X Activity API follows, and later unfollows, timed by their arrival), with a share of exact
duplicates, shuffled; Shopify orders for a released deal's code are redelivered 1 to 4 times. A
sender behaves as X and Shopify do: a 409 or 429 is delivered again after a pause; nothing else is.

``LocalServer`` starts and stops `make run`'s process (``python -m localcloud.run``, which the
Makefile execs); the tests use it too.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.factories import aaa_follow, shopify_headers, shopify_order, signed_headers, xaa_follow

PROJECT = Path(__file__).resolve().parent.parent
RETRIED = (409, 429)


# --- the server process ----------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Reply:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class LocalServer:
    """`make run` in a child process: its printed settings, HTTP calls to it, its memory, its stop.

    Start it from the main thread: the server dies with the thread that started it (PDEATHSIG).
    """

    def __init__(self, process: subprocess.Popen[str], port: int) -> None:
        self.process = process
        self.port = port
        self.output: list[str] = []
        self.settings: dict[str, str] = {}
        self._banner = threading.Event()
        self._drain = threading.Thread(target=self._read_output, name="server-output", daemon=True)
        self._drain.start()

    @classmethod
    def start(
        cls,
        state_dir: Path,
        *,
        env: Mapping[str, str] | None = None,
        via_make: bool = False,
        port: int | None = None,
        timeout: float = 120,
    ) -> LocalServer:
        port = port or free_port()
        child_env = {**os.environ, "PORT": str(port), "OUTLET_STATE_DIR": str(state_dir), **(env or {})}
        for name in ("AWS_ENDPOINT_URL", "MAKEFLAGS", "MAKELEVEL", "MFLAGS"):
            child_env.pop(name, None)
        for name in ("ADMIN_TOKEN", "X_CONSUMER_SECRET", "SHOPIFY_WEBHOOK_SECRET"):
            if env is None or name not in env:
                child_env.pop(name, None)  # the server's own (generated or restored) values
        command = ["make", "-s", "run"] if via_make else [sys.executable, "-m", "localcloud.run"]
        process = subprocess.Popen(  # its own process group, as a terminal's foreground job
            command,
            cwd=PROJECT,
            env=child_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        server = cls(process, port)
        if not server.wait_for_banner(timeout):
            server.kill()
            raise RuntimeError("make run did not start:\n" + server.text())
        return server

    def _read_output(self) -> None:
        for line in self.process.stdout or ():  # always drained: a full pipe would block the server
            self.output.append(line)
            match = re.fullmatch(r"\s*export (\w+)=(\S*)\s*", line)
            if match:
                self.settings[match.group(1)] = match.group(2)
            if line.startswith("Ctrl-C to stop"):
                self._banner.set()
        self._banner.set()

    def wait_for_banner(self, timeout: float) -> bool:
        return self._banner.wait(timeout) and self.process.poll() is None

    def text(self) -> str:
        return "".join(self.output)

    @property
    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.settings['ADMIN_TOKEN']}"}

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: Mapping[str, str] | None = None
    ) -> Reply:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request(method, path, body=body, headers=dict(headers or {}))
            response = connection.getresponse()
            return Reply(response.status, response.read())
        finally:
            connection.close()

    def get(self, path: str) -> Any:
        reply = self.request("GET", path, headers=self.admin)
        if reply.status != 200:
            raise RuntimeError(f"GET {path}: {reply.status} {reply.body[:300]!r}")
        return reply.json()

    def post_json(self, path: str, document: Any) -> Reply:
        return self.request(
            "POST", path, json.dumps(document).encode(), {**self.admin, "Content-Type": "application/json"}
        )

    def pages(self, path: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        separator = "&" if "?" in path else "?"
        while True:
            page = self.get(f"{path}{separator}limit=100" + (f"&cursor={cursor}" if cursor else ""))
            items.extend(page["items"])
            cursor = page["next"]
            if not cursor:
                return items

    def memory(self) -> tuple[int, int]:
        """Resident and peak resident bytes (VmRSS, VmHWM) of the server process."""
        fields = {}
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                fields[name] = int(value.split()[0]) * 1024
        return fields["VmRSS"], fields["VmHWM"]

    def cpu_seconds(self) -> float:
        """User plus system CPU time the server process has used so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self, signum: int = signal.SIGINT, timeout: float = 30) -> tuple[int | None, float]:
        """Send ``signum`` as a user would: SIGINT is Ctrl-C, which a terminal sends to the whole
        foreground job (make and the server); any other signal goes to the process started
        (``kill <pid>``). The exit code (None if it did not exit in ``timeout``) and the seconds taken."""
        start = time.monotonic()
        if signum == signal.SIGINT:
            os.killpg(self.process.pid, signum)
        else:
            self.process.send_signal(signum)
        try:
            code: int | None = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            code = None
            self.kill()
        self._drain.join(5)
        return code, time.monotonic() - start

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


# --- the deliveries --------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    path: str
    body: bytes
    headers: dict[str, str]


@dataclass
class Plan:
    """What is sent (in phases; each phase shuffled and split over the senders) and what it means."""

    phases: list[list[Delivery]] = field(default_factory=list)
    x_deliveries: int = 0
    order_deliveries: int = 0
    events: dict[str, list[tuple[str, str, datetime | None]]] = field(default_factory=dict)  # user -> events
    orders: int = 0
    units: int = 0
    revenue: Decimal = Decimal(0)


def build_plan(
    *,
    account: str,
    x_secret: str,
    shopify_secret: str,
    deal_code: str,
    x_deliveries: int,
    orders: int,
    now: datetime,
    duplicate_share: float = 0.25,
    seed: int = 11,
) -> Plan:
    """``x_deliveries`` X webhook deliveries of which ``duplicate_share`` repeat an earlier one, and
    ``orders`` orders each delivered 1 to 4 times. Phase 2 holds the X Activity API unfollows of
    users followed in phase 1: that envelope has no event time, so only arrival orders them."""
    rng = random.Random(seed)
    plan = Plan()
    distinct = round(x_deliveries * (1 - duplicate_share))
    phase1: list[tuple[str, Delivery]] = []  # (event id, delivery)
    phase2: list[tuple[str, Delivery]] = []
    user = 0
    while len(phase1) + len(phase2) < distinct:
        user += 1
        user_id = str(7_000_000_000 + user)
        history: list[tuple[str, str, datetime | None]] = []
        if rng.random() < 0.6:  # Account Activity API: one to three events at their own times
            start = now - timedelta(days=rng.uniform(0.05, 20))
            opening = "unfollow" if rng.random() < 0.1 else "follow"
            kinds = [opening, *(["unfollow", "follow"] if opening == "follow" else ["follow"])][: rng.randint(1, 3)]
            for n, kind in enumerate(kinds):
                at = start + timedelta(minutes=7 * n)
                millis = int(at.timestamp() * 1000)
                body = json.dumps(aaa_follow(account, user_id, millis, kind=kind)).encode()
                event = f"aaa:{kind}:{user_id}:{millis}"
                history.append((event, kind, datetime.fromtimestamp(millis / 1000, UTC)))
                phase1.append((event, Delivery("/webhooks/x", body, signed_headers(body, x_secret))))
        else:  # X Activity API: a follow, and for some an unfollow in the next phase
            for kind, phase in (("follow", phase1), ("unfollow", phase2)):
                if kind == "unfollow" and rng.random() < 0.7:
                    break
                event = str(uuid.UUID(int=rng.getrandbits(128)))
                body = json.dumps(xaa_follow(account, user_id, event, kind=kind)).encode()
                history.append((f"xaa:{event}", kind, None))  # timed on arrival: today
                phase.append((event, Delivery("/webhooks/x", body, signed_headers(body, x_secret))))
        plan.events[user_id] = history

    def with_duplicates(sends: list[tuple[str, Delivery]], extra: int) -> list[Delivery]:
        out = [d for _, d in sends] + [rng.choice(sends)[1] for _ in range(extra)]
        rng.shuffle(out)
        return out

    duplicates = x_deliveries - len(phase1) - len(phase2)
    extra2 = round(duplicates * len(phase2) / (len(phase1) + len(phase2)))
    first = with_duplicates(phase1, duplicates - extra2)
    second = with_duplicates(phase2, extra2)
    plan.x_deliveries = len(first) + len(second)

    order_sends: list[Delivery] = []
    created = now.isoformat()
    for n in range(orders):
        order_id = 5_000_000_000 + n
        quantities = (rng.randint(1, 3), rng.randint(1, 2))
        total = Decimal(rng.randint(1_000, 200_000)) / 100
        order = shopify_order(order_id, codes=(deal_code,), total=str(total), created_at=created, quantities=quantities)
        body = json.dumps(order).encode()
        webhook = str(uuid.UUID(int=rng.getrandbits(128)))
        for attempt in range(rng.randint(1, 4)):
            # Shopify retries with the same webhook id; now and then the same order comes from a
            # second subscription, with its own id.
            wid = webhook if attempt == 0 or rng.random() < 0.8 else f"{webhook}-{attempt}"
            headers = shopify_headers(body, webhook_id=wid, secret=shopify_secret)
            order_sends.append(Delivery("/webhooks/shopify/orders", body, headers))
        plan.orders += 1
        plan.units += sum(quantities)
        plan.revenue += total
    plan.order_deliveries = len(order_sends)
    first = first + order_sends
    rng.shuffle(first)
    plan.phases = [first, second]
    return plan


# --- the replay --------------------------------------------------------------------------------


@dataclass
class Expected:
    following: set[str]
    left: set[str]
    ever_followed: int
    unfollows: int
    joined: Counter[date]
    lefts: Counter[date]

    def window(self, days: Counter[date], today: date, length: int) -> int:
        return sum(n for d, n in days.items() if today - timedelta(days=length - 1) <= d <= today)


def replay(events: Mapping[str, list[tuple[str, str, datetime | None]]], today: date) -> Expected:
    """The community a plain, in-order application of each distinct event gives: a follow when not
    following joins; an unfollow when not gone leaves (and, as a first event, proves a follow we
    never saw, with no join day). Events without a time arrived today, in list order."""
    expected = Expected(set(), set(), 0, 0, Counter(), Counter())
    for user, history in events.items():
        status: str | None = None
        follows = 0
        for _, kind, at in history:
            day = at.date() if at else today
            if kind == "follow" and status != "following":
                status, follows = "following", follows + 1
                expected.joined[day] += 1
            elif kind == "unfollow" and status != "left":
                follows += status is None
                status = "left"
                expected.unfollows += 1
                expected.lefts[day] += 1
        expected.ever_followed += follows > 0
        (expected.following if status == "following" else expected.left).add(user)
    return expected


# --- the run -----------------------------------------------------------------------------------


@dataclass
class LoadResult:
    deliveries: int
    seconds: float
    cpu_seconds: float  # the server's, over the same time
    latencies: list[float]
    statuses: Counter[int]
    retries: int
    errors: list[str]
    baseline_rss: int
    peak_rss: int
    mismatches: list[str]
    lost: int
    extra: int
    figures: dict[str, Any]
    stop_seconds: float  # SIGTERM right after the last delivery, until the process had exited

    @property
    def throughput(self) -> float:
        return self.deliveries / self.seconds

    @property
    def per_cpu_second(self) -> float:
        """Deliveries per second of the server's CPU: its rate with a core to itself (one Python
        process runs on one core at a time), whatever else the machine was doing."""
        return self.deliveries / self.cpu_seconds

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500) + len(self.errors)

    def summary(self) -> str:
        return (
            f"{self.deliveries} deliveries in {self.seconds:.1f}s = {self.throughput:.0f}/s"
            f" ({self.per_cpu_second:.0f} per server CPU second);"
            f" p50 {self.percentile(0.5) * 1000:.0f} ms, p99 {self.percentile(0.99) * 1000:.0f} ms;"
            f" statuses {dict(sorted(self.statuses.items()))}, {self.retries} redelivered after 409/429;"
            f" RSS {self.baseline_rss / 2**20:.0f} -> peak {self.peak_rss / 2**20:.0f} MB;"
            f" lost {self.lost}, extra {self.extra}, mismatches {self.mismatches or 'none'};"
            f" stopped {self.stop_seconds:.1f}s after SIGTERM"
        )


def send_all(
    server: LocalServer, deliveries: list[Delivery], senders: int
) -> tuple[list[float], Counter[int], int, list[str]]:
    """Every delivery from ``senders`` threads at once; each redelivers on 409/429 as X and Shopify do."""
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    errors: list[str] = []
    retries = [0]
    lock = threading.Lock()

    def sender(mine: list[Delivery]) -> None:
        for delivery in mine:
            start = time.perf_counter()
            for attempt in range(20):
                try:
                    reply = server.request("POST", delivery.path, delivery.body, delivery.headers)
                except OSError as exc:
                    with lock:
                        errors.append(repr(exc))
                    break
                if reply.status not in RETRIED:
                    break
                with lock:
                    retries[0] += 1
                time.sleep(0.05 * (attempt + 1))
            else:
                reply = Reply(599, b"gave up after 20 redeliveries")
            elapsed = time.perf_counter() - start
            with lock:
                latencies.append(elapsed)
                statuses[reply.status] += 1

    threads = [threading.Thread(target=sender, args=(deliveries[n::senders],)) for n in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, statuses, retries[0], errors


def release_deal(server: LocalServer, code: str, timeout: float = 60) -> str:
    release_at = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    deal = {"title": "Latitude 7450 Refurbished", "price": "899", "list_price": "1299", "currency": "USD"}
    reply = server.post_json(
        "/deals", {**deal, "code": code, "url": "https://shop.example/l7450", "release_at": release_at}
    )
    if reply.status != 201:
        raise RuntimeError(f"POST /deals: {reply.status} {reply.body[:300]!r}")
    deal_id = str(reply.json()["id"])
    deadline = time.monotonic() + timeout
    while server.get(f"/deals/{deal_id}")["status"] != "released":
        if time.monotonic() > deadline:
            raise RuntimeError(f"deal {deal_id} was not released within {timeout}s")
        time.sleep(0.2)
    return deal_id


def check(server: LocalServer, plan: Plan) -> tuple[list[str], int, int, dict[str, Any]]:
    """Compare the server's community and sales with the replay: mismatches, lost and extra followers."""
    today = datetime.now(UTC).date()
    expected = replay(plan.events, today)
    community = server.get("/community")
    summary = server.get("/reports/summary")
    following = {f["user_id"] for f in server.pages("/community/followers?status=following")}
    left = {f["user_id"] for f in server.pages("/community/followers?status=left")}
    wanted: dict[str, Any] = {
        "followers": len(expected.following),
        "ever_followed": expected.ever_followed,
        "unfollows": expected.unfollows,
        **{
            f"{name}.{label}": expected.window(days, today, length)
            for name, days in (("joined", expected.joined), ("left", expected.lefts))
            for label, length in (("today", 1), ("7d", 7), ("30d", 30))
        },
        "orders": plan.orders,
        "units": plan.units,
        "revenue.USD": str(plan.revenue.quantize(Decimal("0.01"))),
    }
    got: dict[str, Any] = {
        "followers": community["followers"],
        "ever_followed": community["ever_followed"],
        "unfollows": community["unfollows"],
        **{
            f"{name}.{label}": community[name][label] for name in ("joined", "left") for label in ("today", "7d", "30d")
        },
        "orders": summary["orders"],
        "units": summary["units"],
        "revenue.USD": str(Decimal(summary["revenue"].get("USD", "0")).quantize(Decimal("0.01"))),
    }
    mismatches = [f"{name}: {got[name]} != {value}" for name, value in wanted.items() if got[name] != value]
    lost = len(expected.following - following) + len(expected.left - left)
    extra = len(following - expected.following) + len(left - expected.left)
    return mismatches, lost, extra, got


def run_load(
    state_dir: Path,
    *,
    senders: int,
    x_deliveries: int,
    orders: int,
    env: Mapping[str, str] | None = None,
    log: Callable[[str], None] = lambda _: None,
) -> LoadResult:
    """Start `make run` on an empty ``state_dir``, release a deal, send the plan, stop it, start it
    again on what it saved, and check that against the replay."""
    server_env = {"LOCAL_TICK_SECONDS": "1", "MIN_RELEASE_GAP_MINUTES": "0", "OUTLET_FRESH": "1", **(env or {})}
    server = LocalServer.start(state_dir, env=server_env)
    try:
        code = "LOAD7450"
        release_deal(server, code)
        plan = build_plan(
            account=server.settings["X_ACCOUNT_ID"],
            x_secret=server.settings["X_CONSUMER_SECRET"],
            shopify_secret=server.settings["SHOPIFY_WEBHOOK_SECRET"],
            deal_code=code,
            x_deliveries=x_deliveries,
            orders=orders,
            now=datetime.now(UTC),
        )
        log(f"sending {plan.x_deliveries} X and {plan.order_deliveries} Shopify deliveries from {senders} senders")
        baseline, _ = server.memory()
        peak = [baseline]
        sampling = threading.Event()

        def sample() -> None:
            while not sampling.wait(0.1):
                peak[0] = max(peak[0], server.memory()[0])

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        latencies: list[float] = []
        statuses: Counter[int] = Counter()
        retries = 0
        errors: list[str] = []
        start, cpu_start = time.perf_counter(), server.cpu_seconds()
        for phase in plan.phases:
            got = send_all(server, phase, senders)
            latencies += got[0]
            statuses += got[1]
            retries += got[2]
            errors += got[3]
        seconds, cpu = time.perf_counter() - start, server.cpu_seconds() - cpu_start
        sampling.set()
        sampler.join()
        peak[0] = max(peak[0], server.memory()[0])
    finally:
        # Right after the load: the stop is part of the figure (it once took ~35 s here)
        stop_code, stop_seconds = server.stop(signal.SIGTERM)
    if stop_code != 0:
        raise RuntimeError(f"make run exited {stop_code} on SIGTERM:\n{server.text()[-3000:]}")
    # The check reads what the next start restores, so the saved state is checked too
    server = LocalServer.start(state_dir, env={k: v for k, v in server_env.items() if k != "OUTLET_FRESH"})
    try:
        mismatches, lost, extra, figures = check(server, plan)
    finally:
        server.stop(signal.SIGTERM)
    return LoadResult(
        deliveries=plan.x_deliveries + plan.order_deliveries,
        seconds=seconds,
        cpu_seconds=cpu,
        latencies=latencies,
        statuses=statuses,
        retries=retries,
        errors=errors,
        baseline_rss=baseline,
        peak_rss=peak[0],
        mismatches=mismatches,
        lost=lost,
        extra=extra,
        figures=figures,
        stop_seconds=stop_seconds,
    )


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as directory:
        result = run_load(
            Path(directory),
            senders=int(os.environ.get("LOAD_SENDERS", "8")),
            x_deliveries=int(os.environ.get("LOAD_X_DELIVERIES", "8000")),
            orders=int(os.environ.get("LOAD_ORDERS", "500")),
            log=print,
        )
    print(result.summary())
