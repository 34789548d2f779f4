"""DMs: subscribers, the pacing windows, one send per key, the queues and a deal's alert campaign."""

from __future__ import annotations

from datetime import datetime

from chalicelib.store.keys.parts import Key, iso


class MessagingKeys:
    """Subscribers and the DMs sent to them."""

    SUBSCRIBERS = "SUBSCRIBERS"  # sparse GSI1 listing: only subscribed users carry it

    @staticmethod
    def subscriber(user_id: str) -> Key:
        return {"PK": f"SUBSCRIBER#{user_id}", "SK": "SUBSCRIPTION"}

    @staticmethod
    def subscriber_index(since: datetime, user_id: str) -> dict[str, str]:
        return {"GSI1PK": MessagingKeys.SUBSCRIBERS, "GSI1SK": f"{iso(since)}#{user_id}"}

    @staticmethod
    def dm_window(window: str) -> Key:
        """DMs sent in one pacing window (``15m#2026-11-26T12:15`` or ``day#2026-11-26``)."""
        return {"PK": "DMWINDOW", "SK": window}

    @staticmethod
    def dm_sent(key: str) -> Key:
        """The one send of a DM key (a deal alert to a subscriber, a reply to a command): its state
        (waiting, sending, checking, sent, unknown, failed, skipped)."""
        return {"PK": f"DMSENT#{key}", "SK": "DM"}

    @staticmethod
    def dms_by_status(status: str) -> str:
        return f"DMS#{status}"

    @staticmethod
    def dm_status_index(status: str, at: datetime, key: str) -> dict[str, str]:
        """A DM listed by its state: ``checking`` ones by when they are next looked up, the others
        by when they got there."""
        return {"GSI1PK": MessagingKeys.dms_by_status(status), "GSI1SK": f"{iso(at)}#{key}"}

    @staticmethod
    def dm_queue(queue: str) -> str:
        """The DMs waiting in one queue (``direct``, or a deal's alerts), in the order they go out."""
        return f"DMQUEUE#{queue}"

    @staticmethod
    def dm_queue_entry(queue: str, order: str) -> Key:
        return {"PK": MessagingKeys.dm_queue(queue), "SK": order}

    DM_CAMPAIGNS = "DMCAMPAIGNS"  # sparse GSI1 listing: the deals whose alerts are still going out

    @staticmethod
    def dm_campaign(deal_id: str) -> Key:
        """A deal's alerts: how far the fan-out got, how many were queued and taken."""
        return {"PK": f"DMCAMPAIGN#{deal_id}", "SK": "CAMPAIGN"}

    @staticmethod
    def dm_campaign_index(started_at: datetime, deal_id: str) -> dict[str, str]:
        return {"GSI1PK": MessagingKeys.DM_CAMPAIGNS, "GSI1SK": f"{iso(started_at)}#{deal_id}"}

    @staticmethod
    def dm_totals() -> Key:
        """Every DM counted by what became of it (waiting, sent, unknown, failed, skipped, dropped)."""
        return {"PK": "DMS", "SK": "TOTALS"}

    @staticmethod
    def dm_drain() -> Key:
        """The DM drain's own state: until when X asked it to pause (a 429)."""
        return {"PK": "DMWINDOW", "SK": "DRAIN"}
