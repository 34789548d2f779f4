"""The X fee ledger: what each publish is estimated to cost, by month, against a monthly budget.

Defaults are X's pay-per-use prices: a post $0.015, a post containing a URL $0.20, a DM $0.015.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from chalicelib.store import Keys, Store

_URL = re.compile(r"https?://", re.IGNORECASE)


@dataclass(frozen=True)
class FeeSchedule:
    post: Decimal = Decimal("0.015")
    post_with_url: Decimal = Decimal("0.20")
    dm: Decimal = Decimal("0.015")
    monthly_budget: Decimal | None = None  # None: no cap

    def for_post(self, text: str) -> Decimal:
        return self.post_with_url if _URL.search(text) else self.post


def month_of(moment: datetime) -> str:
    return f"{moment:%Y-%m}"


def spent(store: Store, month: str) -> Decimal:
    item = store.get(Keys.fees_month(month), consistent=True) or {}
    return Decimal(item.get("usd", 0))


def spent_ever(store: Store) -> Decimal:
    """Every month's fees: one partition, a row a month."""
    total, cursor = Decimal(0), None
    while True:
        page = store.query(Keys.FEES, limit=100, cursor=cursor)
        total += sum((Decimal(month.get("usd", 0)) for month in page.items), Decimal(0))
        cursor = page.next
        if cursor is None:
            return total


def would_exceed(store: Store, fees: FeeSchedule, fee: Decimal, now: datetime) -> bool:
    return fees.monthly_budget is not None and spent(store, month_of(now)) + fee > fees.monthly_budget


def charge_op(store: Store, fee: Decimal, kind: str, now: datetime) -> dict[str, Any]:
    """The ledger entry, as a transaction operation to commit with the publish it pays for."""
    return store.op_update(Keys.fees_month(month_of(now)), add={"usd": fee, kind: 1})
