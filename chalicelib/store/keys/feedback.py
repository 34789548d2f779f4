"""Feedback: the items, a deal's feedback and its shards, posts deleted or announcing a deal, and
the sentiment counters (totals, five-minute buckets, days)."""

from __future__ import annotations

from datetime import datetime

from chalicelib.store.keys.parts import Key, iso


class FeedbackKeys:
    """Feedback and its sentiment counters."""

    FEEDBACK = "FEEDBACK"  # GSI1 listing of all feedback, newest first

    @staticmethod
    def feedback(event_id: str) -> Key:
        return {"PK": f"FEEDBACK#{event_id}", "SK": "ITEM"}

    @staticmethod
    def feedback_index(at: datetime, event_id: str) -> dict[str, str]:
        return {"GSI1PK": FeedbackKeys.FEEDBACK, "GSI1SK": f"{iso(at)}#{event_id}"}

    # Feedback counters are sharded like the community's: replies to a viral deal land together.
    FEEDBACK_SHARDS = 10

    @staticmethod
    def deal_feedback(deal_id: str) -> Key:
        """A deal's most positive and most negative feedback (its counts are in the shards below)."""
        return {"PK": f"DEAL#{deal_id}", "SK": "FEEDBACK"}

    @staticmethod
    def deal_feedback_counts(deal_id: str, shard: int) -> Key:
        """One shard of a deal's feedback counts by kind and sentiment, and compound sum."""
        return {"PK": f"DEAL#{deal_id}", "SK": f"FEEDBACK#{shard}"}

    @staticmethod
    def post_deleted(post_id: str) -> Key:
        """A deleted post's tombstone: a post delivered after its deletion is stored erased."""
        return {"PK": f"POST#{post_id}", "SK": "DELETED"}

    @staticmethod
    def post_of_deal(post_id: str) -> Key:
        """Which deal a published post announced, so replies and quotes find their deal."""
        return {"PK": f"POST#{post_id}", "SK": "DEAL"}

    @staticmethod
    def feedback_totals(shard: int) -> Key:
        """One shard of every piece of feedback counted by sentiment, deal or not."""
        return {"PK": "FEEDBACK", "SK": f"TOTALS#{shard}"}

    FEELING = "FEELING"

    @staticmethod
    def feeling_bucket(start: datetime, shard: int) -> Key:
        """One shard of the feedback counts (all, negative) in a five-minute bucket; a window's
        buckets are one query over a range of the partition."""
        return {"PK": FeedbackKeys.FEELING, "SK": f"{iso(start)}#{shard}"}

    SENTIMENT_DAYS = "SENTIMENT#DAYS"
    SENTIMENT_DAY_SHARDS = 10  # every piece of feedback ADDs to one: ten spread a busy day

    @staticmethod
    def sentiment_day(day: str, shard: int) -> Key:
        """One shard of the feedback counted by sentiment on a UTC day (YYYY-MM-DD); the console
        charts a range of days with one query."""
        return {"PK": FeedbackKeys.SENTIMENT_DAYS, "SK": f"{day}#{shard}"}
