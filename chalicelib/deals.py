"""Deals as operators schedule them: validation, the exact post text, and edits while scheduled.

A deal's life: scheduled -> releasing -> released -> expired | sold_out, or cancelled while
scheduled, or failed (with a reason). While it is live (scheduled, releasing, released) it holds
its coupon code, so no two live deals share one. Releasing is chalicelib.releases' business.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, HttpUrl, field_validator

from chalicelib.errors import Conflict, NotFound, Unprocessable
from chalicelib.http import parse
from chalicelib.money import CURRENCIES, format_money, percent_off
from chalicelib.posts import MAX_WEIGHTED_LENGTH, EarlierPost, find_repeat, recent_posts, weighted_length
from chalicelib.store import (
    GSI1,
    ConditionFailed,
    InvalidCursor,
    Item,
    Keys,
    Page,
    Store,
    iso,
    pack_cursor,
    unpack_cursor,
)
from chalicelib.store.conditions import Attr

SCHEDULED, RELEASING, RELEASED = "scheduled", "releasing", "released"
EXPIRED, SOLD_OUT, CANCELLED, FAILED = "expired", "sold_out", "cancelled", "failed"
STATUSES = (SCHEDULED, RELEASING, RELEASED, EXPIRED, SOLD_OUT, CANCELLED, FAILED)
LIVE = frozenset({SCHEDULED, RELEASING, RELEASED})

Money = Annotated[Decimal, Field(gt=0, max_digits=12, decimal_places=2)]
CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{2,31}$")  # a coupon code, as stores allow them


class DealFields(BaseModel):
    """What an operator sends to create a deal (all of it) or to edit one (any of it)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str = Field(min_length=1, max_length=120)
    price: Money
    list_price: Money
    currency: str
    code: str = Field(pattern=CODE_PATTERN.pattern)
    url: HttpUrl | None = None  # pydantic's HttpUrl takes http and https only
    quantity: int | None = Field(default=None, ge=1, le=10_000_000)
    release_at: AwareDatetime
    expires_at: AwareDatetime | None = None
    text: str | None = Field(default=None, min_length=1, max_length=4000)
    dm_subscribers: bool = False

    @field_validator("currency")
    @classmethod
    def _iso_currency(cls, value: str) -> str:
        if value.upper() not in CURRENCIES:
            raise ValueError("not an ISO 4217 currency code")
        return value.upper()


def short_link(link_base: str, code: str) -> str:
    """The tracked link a post carries instead of the store URL (``GET /r/{code}``)."""
    return f"{link_base.rstrip('/')}/r/{code}"


def compose_post(fields: DealFields, link_base: str | None = None) -> str:
    """The operator's own text, or the default: title, price, percent off, code, link, expiry.
    With ``link_base`` the link is the deal's tracked short link, which counts clicks."""
    if fields.text:
        return fields.text
    price, was = format_money(fields.price, fields.currency), format_money(fields.list_price, fields.currency)
    text = (
        f"{fields.title}: {price} (was {was}, {percent_off(fields.price, fields.list_price)}% off) "
        f"with code {fields.code}."
    )
    if fields.url:
        text += f" {short_link(link_base, fields.code) if link_base else fields.url}"
    if fields.expires_at:
        ends = fields.expires_at.astimezone(fields.release_at.tzinfo)
        text += f" Ends {ends:%b} {ends.day}, {ends:%H:%M} {ends.tzname() or 'UTC'}."
    return text


def check_rules(fields: DealFields, now: datetime, link_base: str | None = None) -> tuple[str, int]:
    """The rules no single field can check; returns the post text and its weighted length."""
    errors: dict[str, str] = {}
    if fields.release_at <= now:
        errors["release_at"] = "must be in the future"
    if fields.price >= fields.list_price:
        errors["price"] = "must be below list_price"
    if fields.expires_at is not None and fields.expires_at <= fields.release_at:
        errors["expires_at"] = "must be after release_at"
    text = compose_post(fields, link_base)
    length = weighted_length(text)
    if length > MAX_WEIGHTED_LENGTH:
        errors["text" if fields.text else "title"] = (
            f"the post would be {length} weighted characters, {length - MAX_WEIGHTED_LENGTH} over X's limit of "
            f"{MAX_WEIGHTED_LENGTH}"
        )
    if errors:
        raise Unprocessable("the deal breaks a rule", fields=errors)
    return text, length


def repeat_of(store: Store, text: str, own_id: str | None = None) -> EarlierPost | None:
    """The recent post or scheduled deal that ``text`` repeats or nearly repeats, if any."""
    scheduled = store.query(Keys.deals_by_status(SCHEDULED), index=GSI1, limit=500).items
    earlier = [
        *recent_posts(store),
        *(EarlierPost(str(d["post_text"]), f"deal-{d['id']}") for d in scheduled if d["id"] != own_id),
    ]
    return find_repeat(text, earlier, own_key=f"deal-{own_id}" if own_id else None)


def _refuse_repeats(store: Store, text: str, own_id: str | None) -> None:
    repeat = repeat_of(store, text, own_id)
    if repeat is not None:
        raise Conflict(
            f"the post repeats an earlier one ({repeat.post_key}): {repeat.text!r}",
            fields={"text": f"repeats {repeat.post_key}"},
        )


def new_deal_id() -> str:
    return f"d_{secrets.token_hex(6)}"


def create_deal(
    store: Store,
    fields: DealFields,
    now: datetime,
    new_id: Callable[[], str] = new_deal_id,
    link_base: str | None = None,
    by: str | None = None,
) -> Item:
    """``by`` names the operator who created it (the console's actions record who did them)."""
    text, length = check_rules(fields, now, link_base)
    _refuse_repeats(store, text, own_id=None)
    deal_id = new_id()
    item = _deal_item(deal_id, fields, text, length, status=SCHEDULED, now=now, version=1, created_at=now)
    item["created_by"] = by
    try:
        store.transact(
            [
                store.op_put(item, Attr("PK").not_exists()),
                store.op_put({**Keys.live_code(fields.code), "deal_id": deal_id}, Attr("PK").not_exists()),
            ]
        )
    except ConditionFailed as exc:
        holder = (exc.item or {}).get("deal_id", "another deal")
        raise Conflict(f"code {fields.code} is used by the live deal {holder}", fields={"code": "in use"}) from None
    return public_deal(item)


def get_deal(store: Store, deal_id: str) -> Item:
    item = store.get(Keys.deal(deal_id), consistent=True)
    if item is None:
        raise NotFound(f"no deal {deal_id}")
    return item


def update_deal(
    store: Store,
    deal_id: str,
    changes: dict[str, Any],
    now: datetime,
    link_base: str | None = None,
    by: str | None = None,
) -> Item:
    current = get_deal(store, deal_id)
    if current["status"] != SCHEDULED:
        raise Conflict(f"deal {deal_id} is {current['status']}: only scheduled deals can be edited")
    unknown = sorted(set(changes) - set(_FIELD_NAMES))
    if unknown:
        raise Unprocessable("unknown fields", fields=dict.fromkeys(unknown, "not a deal field"))
    fields = parse(DealFields, {**stored_fields(current), **changes})  # the edit is validated whole
    sold = int(current.get("sold", 0))  # orders may use a code before its post goes out
    if fields.quantity is not None and fields.quantity < sold:
        raise Unprocessable("the deal breaks a rule", fields={"quantity": f"{sold} units are sold already"})
    text, length = check_rules(fields, now, link_base)
    _refuse_repeats(store, text, own_id=deal_id)
    item = _deal_item(
        deal_id,
        fields,
        text,
        length,
        status=SCHEDULED,
        now=now,
        version=int(current["version"]) + 1,
        created_at=datetime.fromisoformat(str(current["created_at"])),
    )
    item["sold"] = sold
    item["created_by"], item["updated_by"] = current.get("created_by"), by
    unchanged = Attr("status").eq(SCHEDULED) & Attr("version").eq(current["version"]) & Attr("sold").eq(sold)
    ops = [store.op_put(item, unchanged)]
    if fields.code.upper() != str(current["code"]).upper():
        ops.append(store.op_delete(Keys.live_code(str(current["code"]))))
        ops.append(store.op_put({**Keys.live_code(fields.code), "deal_id": deal_id}, Attr("PK").not_exists()))
    try:
        store.transact(ops)
    except ConditionFailed as exc:
        if exc.index == 0:
            raise Conflict(f"deal {deal_id} changed while it was being edited; read it again") from None
        raise Conflict(f"code {fields.code} is used by another live deal", fields={"code": "in use"}) from None
    return public_deal(item)


def cancel_deal(store: Store, deal_id: str, now: datetime, by: str | None = None) -> Item:
    current = get_deal(store, deal_id)
    if current["status"] == CANCELLED:
        return public_deal(current)
    if current["status"] != SCHEDULED:
        raise Conflict(f"deal {deal_id} is {current['status']}: only scheduled deals can be cancelled")
    release_at = datetime.fromisoformat(str(current["release_at"]))
    try:
        store.transact(
            [
                store.op_update(
                    Keys.deal(deal_id),
                    set={
                        "status": CANCELLED,
                        "updated_at": iso(now),
                        "cancelled_by": by,
                        **Keys.deal_index(CANCELLED, release_at, deal_id),
                    },
                    add={"version": 1},
                    condition=Attr("status").eq(SCHEDULED),
                ),
                store.op_delete(Keys.live_code(str(current["code"]))),
            ]
        )
    except ConditionFailed:
        raise Conflict(f"deal {deal_id} started releasing; it can no longer be cancelled") from None
    return public_deal(get_deal(store, deal_id))


def list_deals(store: Store, *, status: str | None, limit: int, cursor: str | None) -> Page:
    """One status newest release first, or every status in turn (the cursor remembers which)."""
    statuses = (status,) if status else STATUSES
    position, inner = _split_cursor(cursor, len(statuses))
    items: list[Item] = []
    while position < len(statuses) and len(items) < limit:
        page = store.query(
            Keys.deals_by_status(statuses[position]),
            index=GSI1,
            newest_first=True,
            limit=limit - len(items),
            cursor=inner,
        )
        items.extend(public_deal(i) for i in page.items)
        inner = page.next
        if inner is None:
            position += 1
    done = position >= len(statuses)
    return Page(items=items, next=None if done else _join_cursor(position, inner))


def _split_cursor(cursor: str | None, count: int) -> tuple[int, str | None]:
    if cursor is None:
        return 0, None
    data = unpack_cursor(cursor)
    position, inner = (data.get("p"), data.get("c")) if isinstance(data, dict) else (None, None)
    if type(position) is not int or not 0 <= position < count or not (inner is None or isinstance(inner, str)):
        raise InvalidCursor("the cursor does not belong to this listing")
    return position, inner


def _join_cursor(position: int, inner: str | None) -> str:
    return pack_cursor({"p": position, "c": inner})


def _deal_item(
    deal_id: str,
    fields: DealFields,
    text: str,
    length: int,
    *,
    status: str,
    now: datetime,
    version: int,
    created_at: datetime,
) -> Item:
    return {
        **Keys.deal(deal_id),
        **Keys.deal_index(status, fields.release_at, deal_id),
        "id": deal_id,
        "title": fields.title,
        "price": fields.price,
        "list_price": fields.list_price,
        "currency": fields.currency,
        "code": fields.code,
        "url": str(fields.url) if fields.url else None,
        "quantity": fields.quantity,
        "sold": 0,
        "release_at": iso(fields.release_at),
        "expires_at": iso(fields.expires_at) if fields.expires_at else None,
        "text": fields.text,
        "dm_subscribers": fields.dm_subscribers,
        "post_text": text,
        "weighted_length": length,
        "status": status,
        "created_at": iso(created_at),
        "updated_at": iso(now),
        "version": version,
    }


_FIELD_NAMES = tuple(DealFields.model_fields)
_MONEY = ("price", "list_price")
# Keys and the release machinery's bookkeeping (leases, attempts) are not part of a deal's API.
_INTERNAL = frozenset({"PK", "SK", "GSI1PK", "GSI1SK", "version", "claimed_at", "retry_at", "alerts_queued"})


def stored_fields(item: Item) -> dict[str, Any]:
    """A stored deal back in the shape an operator sends (for re-validating an edit)."""
    return {name: item.get(name) for name in _FIELD_NAMES if item.get(name) is not None}


def public_deal(item: Item) -> Item:
    """A deal as the API shows it: money as decimal strings, counts as integers."""
    shown = {k: v for k, v in item.items() if k not in _INTERNAL}
    for name, value in shown.items():
        if name in _MONEY:
            shown[name] = f"{Decimal(value):.2f}"
        elif isinstance(value, Decimal):  # counts become integers, fees stay exact decimal strings
            shown[name] = int(value) if value == value.to_integral_value() else str(value)
    return shown
