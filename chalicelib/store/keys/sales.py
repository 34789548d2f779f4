"""Attribution: what the channel sold and what publishing cost (a deal's sales, clicks and fees,
the channel's sharded totals, orders, the fees by month)."""

from __future__ import annotations

from chalicelib.store.keys.parts import Key


class SalesKeys:
    """What the channel sold and what publishing cost."""

    # A deal's figures live in three items so writers never contend: orders change ``SALES`` in
    # transactions, clicks change ``CLICKS`` with plain ADDs, publishing changes ``FEES``.
    @staticmethod
    def deal_sales(deal_id: str) -> Key:
        """A deal's attribution: orders, units, revenue by currency."""
        return {"PK": f"DEAL#{deal_id}", "SK": "SALES"}

    @staticmethod
    def deal_clicks(deal_id: str) -> Key:
        return {"PK": f"DEAL#{deal_id}", "SK": "CLICKS"}

    @staticmethod
    def deal_fees(deal_id: str) -> Key:
        """What publishing a deal cost in X fees: its post, its alerts, its follow-up."""
        return {"PK": f"DEAL#{deal_id}", "SK": "FEES"}

    SALES_SHARDS = 10  # every order transaction writes one; ten spread the contention
    CLICK_SHARDS = 10  # every click ADDs to one, at random

    @staticmethod
    def clicks_totals(shard: int) -> Key:
        """One shard of the channel's clicks (people and crawlers), so the report needs no deal's."""
        return {"PK": "CLICKS", "SK": f"TOTALS#{shard}"}

    @staticmethod
    def sales_totals(shard: int) -> Key:
        """One shard of the channel's orders, units and revenue (each order counted once, in one shard)."""
        return {"PK": "SALES", "SK": f"TOTALS#{shard}"}

    @staticmethod
    def order(order_id: str) -> Key:
        """A store order: which deals it was credited to, and whether it was cancelled."""
        return {"PK": f"ORDER#{order_id}", "SK": "ORDER"}

    FEES = "FEES"

    @staticmethod
    def fees_month(month: str) -> Key:
        """Estimated X fees and publish counts in one UTC month (YYYY-MM); the months share a partition."""
        return {"PK": SalesKeys.FEES, "SK": month}
