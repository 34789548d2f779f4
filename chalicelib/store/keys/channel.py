"""The channel itself: the outbox, whether outlet may publish, alerts to operators, texts
already published, the release slot, and the markers of deliveries and migrations applied."""

from __future__ import annotations

from datetime import datetime

from chalicelib.store.keys.parts import Key, iso


class ChannelKeys:
    """The channel's own items: outbox, state, alerts, published texts, release slot, markers."""

    OUTBOX = "OUTBOX"  # GSI1 partition listing the outbox newest first

    @staticmethod
    def outbox_entry(entry_id: str) -> Key:
        return {"PK": f"OUTBOX#{entry_id}", "SK": "ENTRY"}

    @staticmethod
    def outbox_index(created_at: datetime, entry_id: str) -> dict[str, str]:
        # One index partition: the outbox holds what one brand posts and DMs, a few thousand a day.
        return {"GSI1PK": ChannelKeys.OUTBOX, "GSI1SK": f"{iso(created_at)}#{entry_id}"}

    @staticmethod
    def channel() -> Key:
        return {"PK": "CHANNEL", "SK": "STATE"}

    @staticmethod
    def welcome_state() -> Key:
        return {"PK": "WELCOME", "SK": "STATE"}

    ALERTS = "ALERTS"

    @staticmethod
    def alert(alert_id: str) -> Key:
        return {"PK": f"ALERT#{alert_id}", "SK": "ALERT"}

    @staticmethod
    def alert_index(raised_at: datetime, alert_id: str) -> dict[str, str]:
        return {"GSI1PK": ChannelKeys.ALERTS, "GSI1SK": f"{iso(raised_at)}#{alert_id}"}

    ALERTS_UNPUBLISHED = "ALERTS#UNPUBLISHED"

    @staticmethod
    def alert_unpublished(raised_at: datetime, alert_id: str) -> Key:
        """An alert not yet published to the SNS topic (the alerts' outbox), oldest first."""
        return {"PK": ChannelKeys.ALERTS_UNPUBLISHED, "SK": f"{iso(raised_at)}#{alert_id}"}

    @staticmethod
    def published_text(digest: str) -> Key:
        """A post's normalized text, so the same text is never published twice."""
        return {"PK": f"TEXT#{digest}", "SK": "TEXT"}

    PUBLISHED_TEXTS = "TEXTS"

    @staticmethod
    def published_text_index(at: datetime, digest: str) -> dict[str, str]:
        return {"GSI1PK": ChannelKeys.PUBLISHED_TEXTS, "GSI1SK": f"{iso(at)}#{digest}"}

    @staticmethod
    def channel_totals() -> Key:
        return {"PK": "CHANNEL", "SK": "TOTALS"}

    @staticmethod
    def release_slot() -> Key:
        """When the last deal went out: one release per minimum gap."""
        return {"PK": "RELEASES", "SK": "SLOT"}

    @staticmethod
    def migration(name: str) -> Key:
        """That a one-time change to stored items (``name``) is done."""
        return {"PK": "MIGRATION", "SK": name}

    @staticmethod
    def dedupe(scope: str, natural_id: str) -> Key:
        """A marker that a delivery (webhook event, queue message) was already applied."""
        return {"PK": f"SEEN#{scope}#{natural_id}", "SK": "SEEN"}
