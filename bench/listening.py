"""Listening figures for `make bench`: what hearing 1,000 posts costs in DynamoDB requests, through
filtered-stream deliveries (with posts heard by two rules and duplicate deliveries) and through the
scheduled recent search, and what the search's reads cost at X's pay-per-use price.

Every DynamoDB request is counted with a botocore ``before-call`` hook on the moto client. X's
search is a stand-in serving pages in the recorded response's shape (100 posts a page, the most X
gives), so the X figures count the requests and posts X would bill."""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench.dms import _one_table_copy_per_transaction as one_table_copy_per_transaction

Row = Callable[[str, str, str, str], None]
START = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
EVENTS = Path(__file__).resolve().parent.parent / "tests" / "events" / "x"
ACCOUNT = "1111111"


def _delivery(post_id: str, tags: list[str], n: int) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads((EVENTS / "x_filtered_stream_webhook_post.json").read_text())
    payload["data"].update(
        id=post_id,
        text=f"Thinking about a new laptop #{n % 40} from dell or hp, number {n}",
        author_id=str(5000 + n % 300),
        created_at=(START - timedelta(minutes=n % 600)).isoformat(),
        public_metrics={"like_count": n % 17, "retweet_count": n % 5, "reply_count": 1, "quote_count": 0},
    )
    payload["matching_rules"] = [{"id": str(i), "tag": tag} for i, tag in enumerate(tags)]
    return payload


class _Counted:
    def __init__(self) -> None:
        import boto3

        from chalicelib.store import Store
        from localcloud.provision import provision

        session: Any = boto3.session.Session(region_name="us-east-1")
        stack = provision(session.client, stage="local")
        self.ddb = session.client("dynamodb")
        self.store = Store(stack.environment["TABLE_NAME"], self.ddb, clock=lambda: START)
        self.requests = 0
        self.ddb.meta.events.register("before-call.*.*", self._count)

    def _count(self, **_: Any) -> None:
        self.requests += 1


def _rules(store: Any) -> list[str]:
    from chalicelib.listening.rules import LocalRuleSync, RuleFields, add_rule

    made = []
    for name, kind in (("Dell", "brand"), ("XPS", "product"), ("HP", "competitor"), ("Lenovo", "competitor")):
        fields = RuleFields.model_validate({"name": name, "kind": kind, "query": name})
        made.append(str(add_rule(store, fields, START, LocalRuleSync())["id"]))
    return made


def _stream(posts: int) -> dict[str, float]:
    """``posts`` posts delivered by the filtered stream: one in five matched by two rules, one in
    ten delivered twice."""
    from moto import mock_aws

    from chalicelib.listening.posts import hear_delivery
    from chalicelib.sentiment import VaderClassifier
    from chalicelib.x.events import parse_delivery

    with mock_aws(), one_table_copy_per_transaction():
        cloud = _Counted()
        rules = _rules(cloud.store)
        classifier = VaderClassifier()
        before = cloud.requests
        hearings = duplicates = deliveries = 0
        for n in range(posts):
            tags = [rules[n % 4], rules[(n + 1) % 4]] if n % 5 == 0 else [rules[n % 4]]
            payload = _delivery(str(1_870_000_000_000_000_000 + n), tags, n)
            for _ in range(2 if n % 10 == 0 else 1):
                deliveries += 1
                tally = hear_delivery(
                    cloud.store,
                    parse_delivery(copy.deepcopy(payload), START).heard,
                    classifier=classifier,
                    account_id=ACCOUNT,
                    now=START,
                )
                hearings += tally["applied"]
                duplicates += tally["duplicates"]
        used = cloud.requests - before
    return {"requests": used, "hearings": hearings, "duplicates": duplicates, "deliveries": deliveries}


class _SearchX:
    """X's recent search: every rule finds ``per_rule`` new posts, 100 a page (X's largest)."""

    def __init__(self, per_rule: int) -> None:
        self.per_rule = per_rule
        self.requests = 0
        self.read = 0
        self.template = json.loads((EVENTS / "x_api_search_recent_response.json").read_text())

    def recent(
        self, rule_id: str, query: str, *, since_id: str | None, next_token: str | None, max_results: int
    ) -> Any:
        from chalicelib.x.stream import read_search_page

        self.requests += 1
        start = int(next_token or 0)
        count = 0 if since_id else min(max_results, self.per_rule - start)
        body = copy.deepcopy(self.template)
        post = body["data"][0]
        body["data"] = [
            {
                **post,
                "id": str(1_880_000_000_000_000_000 + hash(rule_id) % 1000 * 100_000 + start + i),
                "text": f"{query} post {start + i} #laptops",
                "author_id": str(7000 + i),
                "created_at": (START - timedelta(minutes=i)).isoformat(),
            }
            for i in range(count)
        ]
        body["meta"] = {"result_count": count, "newest_id": body["data"][0]["id"] if count else None}
        if start + count < self.per_rule and count:
            body["meta"]["next_token"] = str(start + count)
        self.read += count
        return read_search_page(body, rule_id)


def _search(per_rule: int) -> dict[str, float]:
    from moto import mock_aws

    from chalicelib.listening.search import SearchPolicy, run_searches
    from chalicelib.sentiment import VaderClassifier

    with mock_aws(), one_table_copy_per_transaction():
        cloud = _Counted()
        rules = _rules(cloud.store)
        x = _SearchX(per_rule)
        policy = SearchPolicy(requests_per_run=100, monthly_reads=1_000_000)
        before = cloud.requests
        heard = 0
        while True:
            report = run_searches(cloud.store, x, policy, START, classifier=VaderClassifier(), account_id=ACCOUNT)
            heard += report.heard
            if report.read == 0:
                break
        used = cloud.requests - before
    return {"requests": used, "heard": heard, "x_requests": x.requests, "read": x.read, "rules": len(rules)}


def bench_listening(row: Row) -> None:
    import logging

    os.environ.update(
        {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"}
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)
    logging.getLogger("outlet").setLevel(logging.WARNING)  # a line per search run
    posts = int(os.environ.get("BENCH_LISTENING_POSTS", "500"))  # the figures are per 1,000: linear in posts
    stream = _stream(posts)
    per_1000 = stream["requests"] / posts * 1000
    # the floor: per delivery the rules (1 query); per rule that hears a post, its transaction;
    # per post, its terms' transaction
    floor = stream["deliveries"] + stream["hearings"] + posts
    row(
        f"listening, filtered stream: DynamoDB requests per 1,000 posts heard ({stream['hearings']:.0f} rule hearings,"
        f" {stream['duplicates']:.0f} duplicates)",
        f"{per_1000:,.0f}",
        f"rules read per delivery + a transaction per hearing + one per post's terms = {floor / posts * 1000:,.0f}",
        f"{stream['requests'] / floor:.2f}x",
    )
    per_rule = int(os.environ.get("BENCH_LISTENING_SEARCH_PER_RULE", "250"))
    search = _search(per_rule)
    read = search["read"]
    fee = Decimal("0.005")
    row(
        f"listening, recent search: DynamoDB requests per 1,000 posts read ({search['rules']:.0f} rules x {per_rule})",
        f"{search['requests'] / read * 1000:,.0f}",
        "a hearing transaction + a terms transaction per post = 2,000; progress + ledger per page",
        f"{search['requests'] / (2 * read):.2f}x",
    )
    row(
        "listening, recent search: X requests and estimated read cost per 1,000 posts",
        f"{search['x_requests'] / read * 1000:.1f} requests, ${fee * 1000:.2f}",
        "100 posts a page (X's largest) = 10 requests; X bills $0.005 a post read",
        f"{search['x_requests'] / read * 1000 / 10:.2f}x (runs that found nothing new included)",
    )
