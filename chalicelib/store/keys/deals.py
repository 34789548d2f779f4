"""Deals: by status and release time, the sparse GSI2 of deals that can still end, coupon codes,
and the follow-ups of ended deals."""

from __future__ import annotations

from datetime import datetime

from chalicelib.store.keys.parts import Key, iso


class DealKeys:
    """Deals, their coupon codes, and their follow-ups."""

    @staticmethod
    def deal(deal_id: str) -> Key:
        return {"PK": f"DEAL#{deal_id}", "SK": "DEAL"}

    @staticmethod
    def deals_by_status(status: str) -> str:
        return f"DEALS#{status}"

    @staticmethod
    def deal_index(status: str, release_at: datetime, deal_id: str) -> dict[str, str]:
        # Ordered by release time within a status: the due query reads scheduled deals up to now.
        return {"GSI1PK": DealKeys.deals_by_status(status), "GSI1SK": f"{iso(release_at)}#{deal_id}"}

    DEALS_ENDING = "DEALS#ending"  # GSI2: released deals that can still end (sparse)

    @staticmethod
    def deal_ending(check_from: datetime, deal_id: str) -> dict[str, str]:
        """A released deal the expiry sweep must look at from ``check_from`` on (its end time, or
        its release for a deal with a quantity); removed when the deal ends."""
        return {"GSI2PK": DealKeys.DEALS_ENDING, "GSI2SK": f"{iso(check_from)}#{deal_id}"}

    @staticmethod
    def code(code: str) -> str:
        """A coupon code's partition: its live claim and the deals that went out with it."""
        return f"CODE#{code.upper()}"

    @staticmethod
    def live_code(code: str) -> Key:
        """Held while a deal with this coupon code is live, so no two live deals share a code."""
        return {"PK": DealKeys.code(code), "SK": "LIVE"}

    @staticmethod
    def code_release(code: str, released_at: datetime, deal_id: str) -> Key:
        """A deal that went out with this code; the code's releases sort by time, so an order or a
        click finds the deal whose post carried the code then, even after it ended."""
        return {"PK": DealKeys.code(code), "SK": f"{DealKeys.CODE_RELEASED}{iso(released_at)}#{deal_id}"}

    CODE_RELEASED = "RELEASED#"

    FOLLOWUPS = "FOLLOWUPS"  # GSI1 listing of ended deals whose follow-up reply is not out yet

    @staticmethod
    def followup(deal_id: str) -> Key:
        return {"PK": f"FOLLOWUP#{deal_id}", "SK": "FOLLOWUP"}

    @staticmethod
    def followup_index(ended_at: datetime, deal_id: str) -> dict[str, str]:
        return {"GSI1PK": DealKeys.FOLLOWUPS, "GSI1SK": f"{iso(ended_at)}#{deal_id}"}
