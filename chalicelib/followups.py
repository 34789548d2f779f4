"""Ending released deals, and the one short follow-up reply each gets under its post.

A released deal ends when it expires (the sweep) or sells out (an order takes the last unit).
Ending is one transaction: the deal's new status, its coupon code freed, and a pending
follow-up recorded. The sweep reads only the deals that can still end, from a sparse index
(``GSI2``, ``Keys.deal_ending``): a deal carries its keys from its release if it has an end time
or a quantity, and loses them when it ends, so the sweep costs the same after 10,000 deals.
The follow-up is then published, keyed ``followup-<deal>``; a run that died after publishing is
recognised by ``find_post`` and never replies twice.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import datetime

from chalicelib.channel import may_publish
from chalicelib.deals import EXPIRED, RELEASED, SOLD_OUT
from chalicelib.fees import FeeSchedule, charge_op
from chalicelib.observability import logger
from chalicelib.posts import claim_text
from chalicelib.publishing import DuplicateContent, Publisher, PublishError
from chalicelib.store import GSI1, GSI2, ConditionFailed, Item, Keys, Store, iso
from chalicelib.store.conditions import Attr

PAGE = 100


@dataclass
class SweepReport:
    ended: list[str] = field(default_factory=list)
    replied: list[str] = field(default_factory=list)


def followup_texts(deal: Item, status: str) -> list[str]:
    title, code = deal["title"], deal["code"]
    if status == SOLD_OUT:
        return [
            f"Sold out: {title}. Thank you, everyone! Follow along for the next deal.",
            f"{title} ({code}) is sold out. Thanks for the love! More deals soon.",
        ]
    return [
        f"This deal has ended: {title}. Thanks to everyone who grabbed one! Follow along for the next.",
        f"{title} ({code}) has ended. Thanks, everyone! More deals soon.",
    ]


def ending_index(deal: Item, released_at: datetime) -> dict[str, str]:
    """The sweep's index keys for a deal being released, if it can end: a deal with a quantity is
    looked at on every sweep (a crash may have left it sold out), one with only an end time from then."""
    if deal.get("quantity") is not None:
        return Keys.deal_ending(released_at, str(deal["id"]))
    if deal.get("expires_at"):
        return Keys.deal_ending(datetime.fromisoformat(str(deal["expires_at"])), str(deal["id"]))
    return {}


def end_released_deal(store: Store, deal: Item, status: str, now: datetime) -> bool:
    """released -> expired | sold_out, the code freed and a follow-up pending; False if already ended."""
    deal_id = str(deal["id"])
    release_at = datetime.fromisoformat(str(deal["release_at"]))
    try:
        store.transact(
            [
                store.op_update(
                    Keys.deal(deal_id),
                    set={"status": status, "ended_at": iso(now), **Keys.deal_index(status, release_at, deal_id)},
                    remove=("GSI2PK", "GSI2SK"),  # out of the sweep's index
                    add={"version": 1},
                    condition=Attr("status").eq(RELEASED),
                ),
                store.op_delete(Keys.live_code(str(deal["code"]))),
                store.op_put(
                    {
                        **Keys.followup(deal_id),
                        **Keys.followup_index(now, deal_id),
                        "deal_id": deal_id,
                        "status": status,
                        "attempts": 0,
                    },
                    Attr("PK").not_exists(),
                ),
            ]
        )
    except ConditionFailed:
        return False
    logger.info("deal ended", extra={"deal_id": deal_id, "status": status})
    return True


def sweep_ended_deals(store: Store, publisher: Publisher, fees: FeeSchedule, now: datetime) -> SweepReport:
    report = SweepReport()
    index_deals_released_before_the_index(store, now)
    cursor = None
    while True:
        due = ("0", iso(now) + "~")  # ended by now, or with a quantity (looked at from their release)
        page = store.query(Keys.DEALS_ENDING, index=GSI2, sk_between=due, limit=PAGE, cursor=cursor)
        for deal in page.items:
            ended = _ended(deal, now)
            if ended and end_released_deal(store, deal, ended, now):
                report.ended.append(str(deal["id"]))
        cursor = page.next
        if cursor is None:
            break
    if may_publish(store):
        for pending in store.query(Keys.FOLLOWUPS, index=GSI1, limit=PAGE).items:
            if _reply(store, publisher, fees, pending, now):
                report.replied.append(str(pending["deal_id"]))
    return report


ENDING_INDEX_MIGRATION = "deals-ending-index"


def index_deals_released_before_the_index(store: Store, now: datetime) -> int:
    """Once per table: released deals recorded before the sweep had its index get its keys, so
    none is left live forever; then a marker makes it one GetItem a sweep. How many it indexed."""
    if store.get(Keys.migration(ENDING_INDEX_MIGRATION)) is not None:
        return 0
    indexed, cursor = 0, None
    while True:
        page = store.query(Keys.deals_by_status(RELEASED), index=GSI1, limit=PAGE, cursor=cursor)
        for deal in page.items:
            keys = ending_index(deal, datetime.fromisoformat(str(deal.get("released_at") or deal["release_at"])))
            if keys and "GSI2PK" not in deal:
                with contextlib.suppress(ConditionFailed):  # it ended meanwhile
                    store.update(Keys.deal(str(deal["id"])), set=keys, condition=Attr("status").eq(RELEASED))
                    indexed += 1
        cursor = page.next
        if cursor is None:
            break
    store.put({**Keys.migration(ENDING_INDEX_MIGRATION), "done_at": iso(now), "indexed": indexed})
    return indexed


def _ended(deal: Item, now: datetime) -> str | None:
    if deal.get("quantity") is not None and int(deal.get("sold", 0)) >= int(deal["quantity"]):
        return SOLD_OUT
    if deal.get("expires_at") and datetime.fromisoformat(str(deal["expires_at"])) <= now:
        return EXPIRED
    return None


def _reply(store: Store, publisher: Publisher, fees: FeeSchedule, pending: Item, now: datetime) -> bool:
    deal_id, status = str(pending["deal_id"]), str(pending["status"])
    deal = store.get(Keys.deal(deal_id))
    if deal is None or not deal.get("post_id"):
        store.delete(Keys.followup(deal_id))
        return False
    key = f"followup-{deal_id}"
    store.update(Keys.followup(deal_id), add={"attempts": 1})
    text = str(pending.get("text") or "")
    published = publisher.find_post(text, key=key) if text and int(pending.get("attempts", 0)) > 0 else None
    if published is None:
        text = next((t for t in followup_texts(deal, status) if claim_text(store, t, post_key=key, at=now)), "")
        if not text:
            logger.warning("no unused follow-up text", extra={"deal_id": deal_id})
            store.delete(Keys.followup(deal_id))
            return False
        store.update(Keys.followup(deal_id), set={"text": text})
        try:
            published = publisher.post(text, key=key, deal_id=deal_id, in_reply_to=str(deal["post_id"]))
        except DuplicateContent:
            published = publisher.find_post(text, key=key)
        except PublishError as exc:
            logger.warning("follow-up not published yet", extra={"deal_id": deal_id, "error": str(exc)})
            return False
        if published is None:
            return False
    store.transact(
        [
            store.op_delete(Keys.followup(deal_id)),
            store.op_update(Keys.deal(deal_id), set={"followup_post_id": published.id}),
            charge_op(store, fees.for_post(text), "posts", now),
            store.op_update(Keys.deal_fees(deal_id), add={"usd": fees.for_post(text)}),
        ]
    )
    return True
