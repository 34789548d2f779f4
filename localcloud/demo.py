"""`make demo`: `make run` seeded with a realistic month, through the real routes only.

Everything goes in the way it would in production: follows, unfollows, replies, mentions, likes
and DMs as signed X webhook deliveries (Account Activity and X Activity envelopes, each carrying
its own event time), orders as signed Shopify webhooks using the deals' codes, clicks on the
tracked links, deals and listening rules through the admin API, and the operator through
``POST /operators``. Deals are released by the release schedule, never written directly.

The month is replayed, not back-dated: the server runs with a local-only *demo clock* that the
seeder starts 30 days in the past and moves forward, event by event, to the present. A deal is
created while the clock says its release is ahead, the clock passes its release time, and the
schedule (``LOCAL_TICK_SECONDS=1``) releases it, so every rule a real release obeys (future
release times, the minimum gap, never the same text twice) is obeyed here too. When the seeding
is done the clock is at the real time again and stays there. The shift lives only in the process
``make demo`` starts (``python -m localcloud.demo serve``), which swaps the ``datetime`` that
``chalicelib.store.keys.utcnow`` reads; no Lambda code knows about it.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import http.client
import json
import os
import random
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote

PROJECT_DIR = Path(__file__).resolve().parent.parent
CLOCK_FILE_ENV = "OUTLET_DEMO_CLOCK_FILE"
BANNER = re.compile(r"outlet is running on (http://\S+)")
ACCOUNT_ID = "1589204711230453760"
ACCOUNT_HANDLE = "NorthwindOutlet"
OPERATOR = {"name": "Dana Reyes", "email": "dana@northwind.example", "password": "outlet-demo-2026"}
RULES = (  # listening rules; feedback naming them is tagged with their names
    {"name": "warranty", "kind": "product", "query": "warranty"},
    {"name": "#NorthwindDeals", "kind": "brand", "query": "#NorthwindDeals"},
    {"name": "Contoso", "kind": "competitor", "query": "Contoso"},
)
HEARD = (  # what the filtered stream delivers for the brand and the competitor rules: (rule, text)
    ("#NorthwindDeals", "Scored a refurbished laptop in the #NorthwindDeals drop, love it"),
    ("#NorthwindDeals", "#NorthwindDeals sold out before I could click, again"),
    ("#NorthwindDeals", "Anyone tried the #NorthwindDeals monitors? Thinking about one"),
    ("Contoso", "Contoso support fixed my laptop in a day, great service"),
    ("Contoso", "Contoso shipping took three weeks, awful"),
    ("Contoso", "Comparing Contoso and Northwind outlet prices this week"),
)


# --- the demo clock -------------------------------------------------------------------------


class DemoClock:
    """The seeder's side: the offset, in seconds, the server's clock runs at, kept in a small file.
    It only ever moves forward."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._at: datetime | None = None

    def move_to(self, at: datetime) -> None:
        if self._at is not None and at <= self._at:
            return
        self._at = at
        offset = (at - datetime.now(UTC)).total_seconds()
        staging = self.path.with_suffix(".next")
        staging.write_text(f"{offset:.6f}")
        staging.replace(self.path)  # atomic: the server reads an old offset or the new one

    def release(self) -> None:
        """Back to real time (the clock is then at or past every seeded event)."""
        self.path.write_text("0")


def read_offset(path: Path) -> float:
    try:
        return float(path.read_text() or 0)
    except (FileNotFoundError, ValueError):
        return 0.0


def install_server_clock(path: Path) -> Callable[[], None]:
    """The server's side: ``utcnow()`` (chalicelib.store.keys) reads ``datetime.now``; make that
    add the offset in ``path`` (read at every call: a file of a few bytes, written atomically).
    Returns what puts the real clock back."""
    from chalicelib.store import keys

    real: type[datetime] = keys.datetime  # type: ignore[attr-defined]

    class ShiftedDatetime(real):  # type: ignore[valid-type,misc]  # a subclass: isinstance checks still hold
        @classmethod
        def now(cls, tz: Any = None) -> datetime:
            return real.now(tz) + timedelta(seconds=read_offset(path))

    keys.datetime = ShiftedDatetime  # type: ignore[attr-defined]

    def undo() -> None:
        keys.datetime = real  # type: ignore[attr-defined]

    return undo


# --- talking to the service -----------------------------------------------------------------


class RouteError(RuntimeError):
    pass


@dataclass
class Outlet:
    """A client of the running service, with the secrets `make run` was given."""

    base_url: str
    admin_token: str
    x_consumer_secret: str
    shopify_webhook_secret: str
    account_id: str = ACCOUNT_ID
    requests: int = 0

    def call(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        host = self.base_url.removeprefix("http://")
        connection = http.client.HTTPConnection(host, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            self.requests += 1
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()

    def admin(self, method: str, path: str, payload: Any = None, expect: tuple[int, ...] = (200, 201)) -> Any:
        headers = {"Authorization": f"Bearer {self.admin_token}"}
        body = None
        if payload is not None:
            body = json.dumps(payload).encode()
            headers["Content-Type"] = "application/json"
        status, _, raw = self.call(method, path, body, headers)
        if status not in expect:
            raise RouteError(f"{method} {path} -> {status}: {raw[:300]!r}")
        return json.loads(raw) if raw else None

    def x_delivery(self, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        digest = hmac.new(self.x_consumer_secret.encode(), body, hashlib.sha256).digest()
        headers = {
            "Content-Type": "application/json",
            "x-twitter-webhooks-signature": "sha256=" + base64.b64encode(digest).decode(),
        }
        status, _, raw = self.call("POST", "/webhooks/x", body, headers)
        if status != 200:
            raise RouteError(f"X delivery -> {status}: {raw[:300]!r}")

    def shopify_order(self, order: dict[str, Any]) -> None:
        body = json.dumps(order).encode()
        digest = hmac.new(self.shopify_webhook_secret.encode(), body, hashlib.sha256).digest()
        headers = {
            "Content-Type": "application/json",
            "X-Shopify-Hmac-Sha256": base64.b64encode(digest).decode(),
            "X-Shopify-Webhook-Id": str(uuid.uuid4()),
            "X-Shopify-Topic": "orders/create",
        }
        status, _, raw = self.call("POST", "/webhooks/shopify/orders", body, headers)
        if status != 200:
            raise RouteError(f"Shopify order -> {status}: {raw[:300]!r}")

    def click(self, code: str, user_agent: str) -> None:
        status, _, _ = self.call("GET", f"/r/{quote(code)}", headers={"User-Agent": user_agent})
        if status != 302:
            raise RouteError(f"GET /r/{code} -> {status}")


# --- what X and Shopify send ------------------------------------------------------------------


def millis(at: datetime) -> str:
    return str(int(at.timestamp() * 1000))


def v1_time(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%a %b %d %H:%M:%S +0000 %Y")


def v2_time(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


@dataclass(frozen=True)
class Person:
    id: str
    handle: str
    name: str

    def v1(self) -> dict[str, Any]:
        return {"id": int(self.id), "id_str": self.id, "screen_name": self.handle, "name": self.name}


BRAND = Person(ACCOUNT_ID, ACCOUNT_HANDLE, "Northwind Outlet")


def follow_event(kind: str, who: Person, at: datetime) -> dict[str, Any]:
    """Account Activity: the follow's time is ``created_timestamp`` (epoch ms)."""
    return {
        "for_user_id": BRAND.id,
        "follow_events": [
            {"type": kind, "created_timestamp": millis(at), "source": who.v1(), "target": BRAND.v1()},
        ],
    }


def xaa_follow_event(kind: str, who: Person) -> dict[str, Any]:
    """X Activity API: no event time in the payload; the service dates it when it arrives."""
    return {
        "data": {
            "event_uuid": str(random.getrandbits(62)),
            "filter": {"user_id": BRAND.id},
            "event_type": f"follow.{kind}",
            "tag": "follows",
            "payload": {
                "source": {"data": {"id": who.id, "username": who.handle, "name": who.name}},
                "target": {"data": {"id": BRAND.id, "username": BRAND.handle, "name": BRAND.name}},
            },
        }
    }


def reply_event(who: Person, post_id: str, answers: str, text: str, at: datetime) -> dict[str, Any]:
    """X Activity API ``post.reply.create`` answering one of the brand's posts."""
    return {
        "data": {
            "event_uuid": str(random.getrandbits(62)),
            "filter": {"user_id": BRAND.id},
            "event_type": "post.reply.create",
            "tag": "replies",
            "payload": {
                "id": post_id,
                "created_at": v2_time(at),
                "text": f"@{BRAND.handle} {text}",
                "author_id": who.id,
                "conversation_id": answers,
                "in_reply_to_user_id": BRAND.id,
                "referenced_tweets": [{"type": "replied_to", "id": answers}],
                "edit_history_tweet_ids": [post_id],
                "lang": "en",
            },
            "includes": {"users": [{"id": who.id, "username": who.handle, "name": who.name}]},
        }
    }


def mention_event(who: Person, post_id: str, text: str, at: datetime) -> dict[str, Any]:
    """Account Activity ``tweet_create_events``: a post that names the brand."""
    return {
        "for_user_id": BRAND.id,
        "tweet_create_events": [
            {
                "created_at": v1_time(at),
                "id": int(post_id),
                "id_str": post_id,
                "text": text.replace("@brand", f"@{BRAND.handle}"),
                "truncated": False,
                "in_reply_to_status_id_str": None,
                "in_reply_to_user_id_str": None,
                "user": who.v1(),
                "timestamp_ms": millis(at),
            }
        ],
    }


def dm_event(who: Person, message_id: str, text: str, at: datetime) -> dict[str, Any]:
    """Account Activity ``direct_message_events`` with the sender in ``users``."""
    return {
        "for_user_id": BRAND.id,
        "direct_message_events": [
            {
                "type": "message_create",
                "id": message_id,
                "created_timestamp": millis(at),
                "message_create": {
                    "target": {"recipient_id": BRAND.id},
                    "sender_id": who.id,
                    "message_data": {"text": text},
                },
            }
        ],
        "users": {who.id: {"id": who.id, "name": who.name, "screen_name": who.handle}},
    }


def like_event(who: Person, post_id: str, at: datetime) -> dict[str, Any]:
    return {
        "for_user_id": BRAND.id,
        "favorite_events": [
            {
                "id": uuid.uuid4().hex,
                "timestamp_ms": int(millis(at)),
                "favorited_status": {"id_str": post_id, "user": BRAND.v1()},
                "user": who.v1(),
            }
        ],
    }


def shopify_order(number: int, deal: DemoDeal, quantity: int, at: datetime) -> dict[str, Any]:
    """An ``orders/create`` payload that used the deal's code on one line."""
    unit = deal.price
    total = unit * quantity
    discount = (deal.list_price - deal.price) * quantity
    money = {"amount": f"{total:.2f}", "currency_code": deal.currency}
    return {
        "id": 5_820_000_000_000 + number,
        "name": f"#{1000 + number}",
        "order_number": 1000 + number,
        "created_at": at.isoformat(timespec="seconds"),
        "currency": deal.currency,
        "presentment_currency": deal.currency,
        "total_price": f"{total:.2f}",
        "current_total_price": f"{total:.2f}",
        "total_price_set": {"shop_money": money, "presentment_money": money},
        "financial_status": "paid",
        "test": False,
        "discount_codes": [{"code": deal.code, "amount": f"{discount:.2f}", "type": "fixed_amount"}],
        "discount_applications": [
            {"type": "discount_code", "code": deal.code, "value": f"{discount:.2f}", "value_type": "fixed_amount"}
        ],
        "line_items": [
            {
                "id": 14_100_000_000_000 + number,
                "title": deal.title,
                "quantity": quantity,
                "price": f"{deal.list_price:.2f}",
                "discount_allocations": [{"amount": f"{discount:.2f}", "discount_application_index": 0}],
            }
        ],
    }


# --- the month --------------------------------------------------------------------------------

FIRST = (
    *("maria", "alex", "sam", "jordan", "priya", "wei", "lena", "tom", "aisha", "diego", "nora", "ken"),
    *("ravi", "emma", "luca", "sofia", "omar", "hannah", "jin", "zoe", "noah", "mei", "ivan", "chloe"),
    *("ben", "ana", "yusuf", "clara", "leo", "ines", "kofi", "ruth", "mateo", "sara"),
)
LAST = ("kim", "lopez", "patel", "nguyen", "smith", "okafor", "rossi", "chen", "mueller", "silva", "haddad", "park")

DEALS: tuple[tuple[str, str, str, str], ...] = (
    # title, price, list price, currency
    ("XPS 13 refurbished, 16 GB", "799.00", "1099.00", "USD"),
    ("UltraSharp 27 4K monitor", "329.00", "479.00", "USD"),
    ("Latitude 7440 business laptop", "649.00", "989.00", "USD"),
    ("Noise-cancelling headset WL7024", "89.00", "149.00", "USD"),
    ("Inspiron 16 Plus, open box", "899.00", "1249.00", "USD"),
    ("Alienware 34 QD-OLED monitor", "749.00", "1099.00", "USD"),
    ("Precision 3680 tower", "1190.00", "1690.00", "USD"),
    ("USB-C dock WD22TB4", "159.00", "289.00", "USD"),
    ("XPS 15 creator edition", "1399.00", "1899.00", "EUR"),
    ("Pro wireless keyboard and mouse", "49.00", "89.00", "USD"),
    ("OptiPlex micro, 12 pack", "3990.00", "5880.00", "USD"),
    ("Latitude 9450 2-in-1", "1099.00", "1699.00", "EUR"),
    ("Gaming mouse AW720M", "59.00", "129.00", "USD"),
    ("27 inch video conferencing monitor", "279.00", "399.00", "USD"),
    ("Thunderbolt 4 portable SSD 2 TB", "149.00", "239.00", "USD"),
)

POSITIVE = (
    "just ordered one, great price, thank you!",
    "love it, arrived in two days and works perfectly",
    "best deal I've seen all year. Grabbed one for my studio",
    "awesome, been waiting for this one. Bought!",
    "amazing value, the refurbished one looks brand new",
    "great deal, the warranty made it an easy yes",
    "thanks! the code worked and checkout was quick",
    "so happy with mine, excellent condition #NorthwindDeals",
    "wow, that price is fantastic",
    "perfect timing, my old laptop just died. Thank you!",
    "nice one, ordered two for the office",
    "super fast shipping and great support, love this account",
)
NEUTRAL = (
    "does this ship to Canada?",
    "is the keyboard US layout?",
    "how long does the deal run?",
    "what's the warranty on refurbished units?",
    "which ports does it have?",
    "is there a student version of this?",
    "will this come back in silver?",
    "can I use two codes on one order?",
    "does it include the charger?",
    "what's the battery capacity on this model?",
)
NEGATIVE = (
    "sold out in minutes again, so disappointing",
    "the code failed at checkout, really frustrating",
    "my order got cancelled with no explanation, awful and annoying",
    "still waiting on a refund, this is ridiculous",
    "worst checkout ever, the page keeps failing",
    "the box arrived damaged and support ignores me. Angry",
)
SPIKE = (
    "the code is broken, checkout fails every time. Terrible",
    "code rejected at checkout, what a waste of time",
    "broken code again?! this is awful",
    "I hate this, the discount never applies",
    "code not working, so frustrating and disappointing",
    "checkout error again, worst deal launch ever",
    "can't apply the code, terrible, really annoyed",
    "useless code, I'm done with these fake deals",
    "error at checkout, awful experience, angry customer",
    "the code fails, horrible, please fix this",
    "total failure, the code is dead on arrival",
    "so disappointed, the discount is broken",
    "bad launch, code refused, lost my cart",
)
MENTIONS_POSITIVE = (
    "shoutout to @brand, my refurbished laptop is great",
    "@brand has the best tech deals, happy customer",
    "got a great monitor from @brand, love it #NorthwindDeals",
    "follow @brand for real deals, saved a lot on my desk setup",
)
MENTIONS_NEUTRAL = (
    "anyone bought refurbished from @brand before?",
    "@brand any deals on docks this week?",
    "comparing @brand outlet prices with the main store",
)
DMS = (
    ("positive", "Hi! Just wanted to say the monitor is great, thanks for the deal"),
    ("neutral", "Hi, can you tell me when my order ships? It's #1042"),
    ("neutral", "Do you ship to Ireland?"),
    ("neutral", "Is the warranty transferable to a new owner?"),
    ("negative", "My laptop arrived with a scratched screen, very disappointed"),
    ("positive", "Thank you for the quick help yesterday, really appreciated"),
)
USER_AGENTS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/141.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 Version/18.5 Safari/605.1.15",
    "Mozilla/5.0 (Linux; Android 15; Pixel 9) AppleWebKit/537.36 Chrome/141.0 Mobile Safari/537.36",
)


@dataclass(frozen=True)
class Scale:
    """How much of a month to seed; the browser tests use a smaller one."""

    days: int = 30
    followers: int = 340
    leave_share: float = 0.2
    deals: int = 12
    replies_per_deal: tuple[int, int] = (5, 11)
    mentions: int = 28
    dms: int = 22
    subscribers: int = 24
    likes_per_deal: tuple[int, int] = (2, 6)
    clicks_per_deal: tuple[int, int] = (25, 90)
    orders_per_deal: tuple[int, int] = (3, 12)
    upcoming: int = 3


MONTH = Scale()
SMALL = Scale(
    days=6,
    followers=40,
    deals=3,
    replies_per_deal=(2, 4),
    mentions=4,
    dms=4,
    subscribers=3,
    likes_per_deal=(1, 2),
    clicks_per_deal=(2, 5),
    orders_per_deal=(1, 3),
    upcoming=1,
)


@dataclass
class DemoDeal:
    index: int
    title: str
    price: Decimal
    list_price: Decimal
    currency: str
    code: str
    release_at: datetime
    quantity: int | None = None
    id: str = ""
    post_id: str = ""


@dataclass(order=True)
class Step:
    at: datetime
    order: int
    run: Callable[[], None] = field(compare=False)


@dataclass
class Seeded:
    """What the seeding did, for the banner and for tests."""

    followers: int = 0
    unfollows: int = 0
    deals: list[DemoDeal] = field(default_factory=list)
    upcoming: list[DemoDeal] = field(default_factory=list)
    feedback: int = 0
    likes: int = 0
    clicks: int = 0
    orders: int = 0
    subscribers: int = 0
    spike_at: datetime | None = None
    heard: int = 0  # posts the filtered stream delivered for listening rules
    requests: int = 0
    seconds: float = 0.0


class Month:
    """Plans a month of the channel as a timeline of steps and replays it against the service."""

    def __init__(self, outlet: Outlet, clock: DemoClock, scale: Scale, *, end: datetime, seed: int = 13) -> None:
        self.outlet, self.clock, self.scale = outlet, clock, scale
        self.rng = random.Random(seed)
        self.end = end
        self.start = (end - timedelta(days=scale.days)).replace(hour=7, minute=0, second=0, microsecond=0)
        self.steps: list[Step] = []
        self.people = self._people(scale.followers + scale.mentions)
        self.done = Seeded()
        self._ids = iter(range(1, 10**9))
        self.rule_ids: dict[str, str] = {}

    # planning
    def _people(self, count: int) -> list[Person]:
        people = []
        for n in range(count):
            first, last = self.rng.choice(FIRST), self.rng.choice(LAST)
            handle = f"{first}{last[0]}{self.rng.randint(2, 98)}" if n % 3 else f"{first}_{last}{n}"
            people.append(Person(str(1_700_000_000_000_000_000 + n * 7919), handle[:15], f"{first} {last}".title()))
        return people

    def at(self, when: datetime, action: Callable[..., None], *args: Any) -> None:
        """Plan ``action(*args)`` for the moment ``when`` (within the month)."""
        if when < self.end:
            self.steps.append(Step(when, next(self._ids), partial(action, *args)))

    def during(self, start: datetime, hours: float) -> datetime:
        return start + timedelta(seconds=self.rng.uniform(0, hours * 3600))

    def plan(self) -> None:
        scale, rng = self.scale, self.rng
        span = self.end - self.start
        self.at(self.start, self.add_rules)
        gap = span / (scale.deals + 0.6)
        deals = []
        for i in range(scale.deals):
            release = self.start + gap * (i + 0.5)
            hour, minute = rng.choice((9, 11, 13, 15, 17, 19)), rng.choice((0, 15, 30, 45))
            release = release.replace(hour=hour, minute=minute, second=0, microsecond=0)
            deals.append(self.plan_deal(i, release, quantity=12 if i == 1 else None))
        spike_deal = deals[len(deals) // 2]
        for deal in deals:
            self.plan_reactions(deal, spike=deal is spike_deal)
        self.plan_followers(deals)
        self.plan_conversation()
        self.plan_listening()

    def plan_deal(self, i: int, release: datetime, quantity: int | None = None) -> DemoDeal:
        title, price, list_price, currency = DEALS[i % len(DEALS)]
        code = re.sub(r"[^A-Z0-9]", "", title.upper())[:8] + f"{i + 10}"
        deal = DemoDeal(i, title, Decimal(price), Decimal(list_price), currency, code, release, quantity)
        self.done.deals.append(deal)
        self.at(max(self.start, release - timedelta(hours=self.rng.uniform(3, 20))), self.create_deal, deal)
        self.at(release + timedelta(seconds=1), self.await_release, deal)
        return deal

    def plan_reactions(self, deal: DemoDeal, *, spike: bool) -> None:
        scale, rng = self.scale, self.rng
        fans = self.people[: scale.followers]
        # clicks right after the post; orders over the next day and a half (more orders than the
        # quantity for the limited deal, which sells out)
        self.at(deal.release_at + timedelta(minutes=3), self.clicks, deal, rng.randint(*scale.clicks_per_deal))
        orders = rng.randint(*scale.orders_per_deal) + (deal.quantity or 0)
        for _ in range(orders):
            when = deal.release_at + timedelta(minutes=5) + timedelta(hours=min(rng.expovariate(1 / 8), 40))
            self.at(when, self.order, deal, when)
        for _ in range(rng.randint(*scale.replies_per_deal)):
            when = deal.release_at + timedelta(minutes=2) + timedelta(hours=rng.expovariate(1 / 6))
            # the spike deal's angry replies all come in its burst (below), so it raises one alert
            label = rng.choices(("positive", "neutral", "negative"), (0.6, 0.3, 0 if spike else 0.1))[0]
            text = rng.choice({"positive": POSITIVE, "neutral": NEUTRAL, "negative": NEGATIVE}[label])
            self.at(when, self.reply, deal, rng.choice(fans), text, when)
        for _ in range(rng.randint(*scale.likes_per_deal)):
            when = self.during(deal.release_at, 12)
            self.at(when, self.like, deal, rng.choice(fans), when)
        if spike:
            # the code "broke": a burst of angry replies within one clock hour (an alert names its
            # hour) raises the negative-spike alert
            burst = (deal.release_at + timedelta(hours=2)).replace(minute=5)
            self.done.spike_at = burst
            for n, text in enumerate(SPIKE):
                when = burst + timedelta(minutes=3 * n)
                self.at(when, self.reply, deal, fans[n * 3 % len(fans)], text, when)
            for n in range(3):
                when = burst + timedelta(minutes=7 + 11 * n)
                self.at(when, self.reply, deal, fans[n * 5 + 1], "is there an update on the code?", when)

    def plan_followers(self, deals: list[DemoDeal]) -> None:
        """Joins grow over the month, with a bump the day of each release; some leave later."""
        scale, rng = self.scale, self.rng
        release_days = {d.release_at.date() for d in deals}
        days = [self.start + timedelta(days=n) for n in range(scale.days + 1)]
        weights = [1 + n / scale.days + (2.5 if d.date() in release_days else 0) for n, d in enumerate(days)]
        for n, who in enumerate(self.people[: scale.followers]):
            day = rng.choices(days, weights)[0]
            joined = day.replace(hour=0, minute=0) + timedelta(hours=rng.uniform(7, 23.5))
            joined = max(joined, self.start + timedelta(minutes=5))
            via_activity_api = n % 7 == 0  # some deliveries come through X Activity API
            self.at(joined, self.follow, "follow", who, joined, via_activity_api)
            if rng.random() < scale.leave_share:
                left = joined + timedelta(hours=rng.uniform(6, 24 * 12))
                self.at(left, self.follow, "unfollow", who, left, via_activity_api)
            elif n < scale.subscribers:
                opted = joined + timedelta(hours=rng.uniform(0.5, 48))
                self.at(opted, self.subscribe, who, opted)

    def plan_conversation(self) -> None:
        scale, rng = self.scale, self.rng
        strangers = self.people[scale.followers :] or self.people
        for _ in range(scale.mentions):
            when = self.during(self.start, scale.days * 24)
            text = rng.choice(MENTIONS_POSITIVE if rng.random() < 0.6 else MENTIONS_NEUTRAL)
            self.at(when, self.mention, rng.choice(strangers), text, when)
        for _ in range(scale.dms):
            when = self.during(self.start, scale.days * 24)
            text = rng.choice(DMS)[1]
            self.at(when, self.dm, rng.choice(self.people[: scale.followers]), text, when)

    def plan_listening(self) -> None:
        rng = self.rng
        for _ in range(self.scale.mentions):
            when = self.during(self.start + timedelta(hours=1), self.scale.days * 24 - 1)
            rule, text = rng.choice(HEARD)
            self.at(when, self.heard, rule, rng.choice(self.people), text, when)

    # replaying
    def run(self) -> Seeded:
        started = time.monotonic()
        for step in sorted(self.steps):
            self.clock.move_to(step.at)
            step.run()
        self.clock.release()
        for n in range(self.scale.upcoming):
            self.schedule_upcoming(n)
        self.done.requests = self.outlet.requests
        self.done.seconds = time.monotonic() - started
        return self.done

    def add_rules(self) -> None:
        for rule in RULES:
            created = self.outlet.admin("POST", "/listening/rules", rule, expect=(201,))
            self.rule_ids[rule["name"]] = created["id"]

    def heard(self, rule: str, who: Person, text: str, at: datetime) -> None:
        """A filtered-stream webhook delivery (X's documented shape) of a post a rule matched."""
        post_id = self.post_id()
        self.outlet.x_delivery(
            {
                "data": {"id": post_id, "text": text, "created_at": v2_time(at), "author_id": who.id},
                "includes": {"users": [{"id": who.id, "name": who.name, "username": who.handle}]},
                "matching_rules": [{"id": "1", "tag": self.rule_ids[rule]}],
            }
        )
        self.done.heard += 1

    def deal_fields(self, deal: DemoDeal, *, dm_subscribers: bool) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "title": deal.title,
            "price": f"{deal.price:.2f}",
            "list_price": f"{deal.list_price:.2f}",
            "currency": deal.currency,
            "code": deal.code,
            "url": f"https://shop.northwind.example/outlet/{deal.code.lower()}",
            "release_at": deal.release_at.isoformat(),
            "expires_at": (deal.release_at + timedelta(hours=48)).isoformat(),
            "dm_subscribers": dm_subscribers,
        }
        if deal.quantity is not None:
            fields["quantity"] = deal.quantity
        return fields

    def create_deal(self, deal: DemoDeal) -> None:
        created = self.outlet.admin("POST", "/deals", self.deal_fields(deal, dm_subscribers=deal.index % 3 == 0))
        deal.id = created["id"]

    def await_release(self, deal: DemoDeal, timeout: float = 30.0) -> None:
        """The release schedule publishes the deal within a tick or two of its time."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.outlet.admin("GET", f"/deals/{deal.id}")
            if found.get("post_id"):
                deal.post_id = str(found["post_id"])
                return
            time.sleep(0.2)
        raise RouteError(f"deal {deal.code} was not released within {timeout:.0f}s: {found.get('status')}")

    def schedule_upcoming(self, n: int) -> None:
        index = self.scale.deals + n
        day = self.end + timedelta(days=n + 1)
        release = day.replace(hour=(10, 15, 12)[n % 3], minute=0, second=0, microsecond=0)
        title, price, list_price, currency = DEALS[index % len(DEALS)]
        code = re.sub(r"[^A-Z0-9]", "", title.upper())[:8] + f"{index + 10}"
        deal = DemoDeal(index, title, Decimal(price), Decimal(list_price), currency, code, release)
        deal.id = self.outlet.admin("POST", "/deals", self.deal_fields(deal, dm_subscribers=True))["id"]
        self.done.upcoming.append(deal)

    def follow(self, kind: str, who: Person, at: datetime, via_activity_api: bool) -> None:
        payload = xaa_follow_event(kind, who) if via_activity_api else follow_event(kind, who, at)
        self.outlet.x_delivery(payload)
        if kind == "follow":
            self.done.followers += 1
        else:
            self.done.unfollows += 1

    def post_id(self) -> str:
        return str(1_990_000_000_000_000_000 + next(self._ids) * 104_729)

    def reply(self, deal: DemoDeal, who: Person, text: str, at: datetime) -> None:
        self.outlet.x_delivery(reply_event(who, self.post_id(), deal.post_id, text, at))
        self.done.feedback += 1

    def like(self, deal: DemoDeal, who: Person, at: datetime) -> None:
        self.outlet.x_delivery(like_event(who, deal.post_id, at))
        self.done.likes += 1

    def mention(self, who: Person, text: str, at: datetime) -> None:
        self.outlet.x_delivery(mention_event(who, self.post_id(), text, at))
        self.done.feedback += 1

    def dm(self, who: Person, text: str, at: datetime) -> None:
        self.outlet.x_delivery(dm_event(who, self.post_id(), text, at))
        self.done.feedback += 1

    def subscribe(self, who: Person, at: datetime) -> None:
        """DEALS by DM opts in to deal alerts (a command, not feedback)."""
        self.outlet.x_delivery(dm_event(who, self.post_id(), "DEALS", at))
        self.done.subscribers += 1

    def clicks(self, deal: DemoDeal, count: int) -> None:
        for n in range(count):
            self.outlet.click(deal.code, USER_AGENTS[n % len(USER_AGENTS)])
        self.done.clicks += count

    def order(self, deal: DemoDeal, at: datetime) -> None:
        self.done.orders += 1
        quantity = 2 if self.rng.random() < 0.15 else 1
        self.outlet.shopify_order(shopify_order(self.done.orders, deal, quantity, at))


def create_operator(outlet: Outlet) -> dict[str, str] | None:
    """The console's first operator, made with the admin token; None if this build has no console."""
    status, _, raw = outlet.call(
        "POST",
        "/operators",
        json.dumps(OPERATOR).encode(),
        {"Authorization": f"Bearer {outlet.admin_token}", "Content-Type": "application/json"},
    )
    if status in (200, 201, 409):
        return OPERATOR
    if status in (403, 404, 405):  # chalice's local server answers an unknown route with a 403
        return None
    raise RouteError(f"POST /operators -> {status}: {raw[:300]!r}")


def seed(outlet: Outlet, clock: DemoClock, scale: Scale = MONTH, *, end: datetime | None = None) -> Seeded:
    """Replay a month against a service started with the demo clock; returns what was sent."""
    month = Month(outlet, clock, scale, end=end or datetime.now(UTC) - timedelta(minutes=10))
    month.plan()
    clock.move_to(month.start)
    return month.run()


# --- the server ---------------------------------------------------------------------------------


@dataclass
class Server:
    """``python -m localcloud.demo serve`` in a subprocess: `make run` with the demo clock."""

    process: subprocess.Popen[str]
    outlet: Outlet
    clock: DemoClock
    log_path: Path
    workdir: Path

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def start_server(
    port: int,
    *,
    state_dir: Path,
    log_path: Path | None = None,
    extra_env: dict[str, str] | None = None,
    timeout: float = 90.0,
) -> Server:
    """Start the service on ``port`` with fresh secrets and state; return once it is serving."""
    workdir = Path(tempfile.mkdtemp(prefix="outlet-demo-"))
    clock = DemoClock(workdir / "clock")
    log_path = log_path or workdir / "server.log"
    outlet = Outlet(
        base_url=f"http://127.0.0.1:{port}",
        admin_token=secrets.token_urlsafe(30),
        x_consumer_secret=secrets.token_urlsafe(24),
        shopify_webhook_secret=secrets.token_urlsafe(24),
    )
    env = {
        **os.environ,
        "PORT": str(port),
        "ADMIN_TOKEN": outlet.admin_token,
        "X_CONSUMER_SECRET": outlet.x_consumer_secret,
        "SHOPIFY_WEBHOOK_SECRET": outlet.shopify_webhook_secret,
        "X_ACCOUNT_ID": ACCOUNT_ID,
        "LOCAL_TICK_SECONDS": "1",
        "LOG_LEVEL": "WARNING",
        "OUTLET_STATE_DIR": str(state_dir),
        "FRESH": "1",
        "PYTHONUNBUFFERED": "1",
        CLOCK_FILE_ENV: str(clock.path),
        **(extra_env or {}),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "localcloud.demo", "serve"],
        cwd=PROJECT_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    ready = threading.Event()
    threading.Thread(target=_copy_output, args=(process, log_path, ready), daemon=True).start()
    deadline = time.monotonic() + timeout
    while not ready.wait(0.2):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"the server did not start; its output is in {log_path}:\n{log_path.read_text()}")
    return Server(process, outlet, clock, log_path, workdir)


def _copy_output(process: subprocess.Popen[str], log_path: Path, ready: threading.Event) -> None:
    with log_path.open("a") as log:
        for line in process.stdout or ():
            log.write(line)
            log.flush()
            if BANNER.search(line):
                ready.set()


def serve() -> int:
    """The server process: `make run`'s main, with the clock the seeder moves."""
    clock_file = os.environ.get(CLOCK_FILE_ENV)
    if clock_file:
        install_server_clock(Path(clock_file))
    from localcloud.run import main  # its embedded moto installs localcloud.moto_fixes

    return main()


# --- make demo ----------------------------------------------------------------------------------


def summary(result: Seeded) -> Iterator[str]:
    released = [d for d in result.deals if d.post_id]
    first, last = result.deals[0].release_at, result.deals[-1].release_at
    yield (
        f"  {result.followers} follows and {result.unfollows} unfollows over the month;"
        f" {result.subscribers} DM subscribers"
    )
    yield f"  {len(released)} deals released from {first:%b %d} to {last:%b %d}; {len(result.upcoming)} scheduled ahead"
    yield f"  {result.clicks} clicks, {result.orders} orders (one deal sold out)"
    yield f"  {result.feedback} replies, mentions and DMs, {result.likes} likes"
    if result.spike_at:
        yield f"  a negative spike on {result.spike_at:%b %d %H:%M} UTC (the code that broke) with its alert"
    yield f"  {result.requests} requests in {result.seconds:.0f} s"


def _interrupt(*_: Any) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localcloud.demo", description=__doc__.splitlines()[0])
    parser.add_argument("command", nargs="?", choices=("demo", "serve"), default="demo")
    parser.add_argument("--small", action="store_true", help="seed a small week instead of a month")
    args = parser.parse_args(argv)
    if args.command == "serve":
        return serve()

    port = int(os.environ.get("PORT", "8000"))
    state_dir = Path(os.environ.get("OUTLET_DEMO_STATE_DIR", PROJECT_DIR / ".outlet-demo"))
    shutil.rmtree(state_dir, ignore_errors=True)
    state_dir.mkdir(parents=True)
    log_path = state_dir / "server.log"
    print(f"starting outlet on port {port} (server log: {log_path}) ...", flush=True)
    server = start_server(port, state_dir=state_dir, log_path=log_path)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        print("replaying a month through the webhooks and the admin API (two or three minutes) ...", flush=True)
        result = seed(server.outlet, server.clock, SMALL if args.small else MONTH)
        operator = create_operator(server.outlet)
        outlet = server.outlet
        print(f"\noutlet demo is running on {outlet.base_url}")
        print("\n".join(summary(result)))
        if operator:
            print(f"\n  console:  {outlet.base_url}/console")
            print(f"  sign in:  {operator['email']} / {operator['password']}")
        else:
            print("\n  (this build has no console yet: POST /operators is missing)")
        print(f"\n  export ADMIN_TOKEN={outlet.admin_token}")
        print(f"  export X_CONSUMER_SECRET={outlet.x_consumer_secret}")
        print(f"  export SHOPIFY_WEBHOOK_SECRET={outlet.shopify_webhook_secret}")
        print(f"  X_ACCOUNT_ID={outlet.account_id} (@{ACCOUNT_HANDLE}); server log: {log_path}")
        print(f'  curl -H "Authorization: Bearer $ADMIN_TOKEN" {outlet.base_url}/reports/summary')
        print("Ctrl-C to stop.", flush=True)
        while server.process.poll() is None:
            time.sleep(0.5)
        print(f"the server stopped (exit {server.process.returncode}); see {log_path}")
        return 1
    except KeyboardInterrupt:
        print("\nstopping...", flush=True)
        return 0 if server.stop() in (0, -signal.SIGINT) else 1
    finally:
        server.stop()
        shutil.rmtree(server.workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
