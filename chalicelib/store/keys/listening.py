"""Listening: rules, the posts they hear, and what those add up to (chalicelib.listening)."""

from __future__ import annotations

from datetime import datetime

from chalicelib.store.keys.parts import Key, iso


class ListeningKeys:
    """Listening rules, the posts they hear, and their counters."""

    LISTENING_RULES = "LRULES"  # GSI1 listing of the listening rules, oldest first

    @staticmethod
    def listening_rule(rule_id: str) -> Key:
        return {"PK": f"LRULE#{rule_id}", "SK": "RULE"}

    @staticmethod
    def listening_rule_index(created_at: datetime, rule_id: str) -> dict[str, str]:
        return {"GSI1PK": ListeningKeys.LISTENING_RULES, "GSI1SK": f"{iso(created_at)}#{rule_id}"}

    @staticmethod
    def listening_rule_search(rule_id: str) -> Key:
        """How far a rule's recent search got: its ``newest_id``, and a page run it has not finished."""
        return {"PK": f"LRULE#{rule_id}", "SK": "SEARCH"}

    @staticmethod
    def listening_search() -> Key:
        """The search schedule's own state: until when X asked it to pause (a 429)."""
        return {"PK": "LISTENING", "SK": "SEARCH"}

    LISTENING_POSTS = "LPOSTS"  # GSI1 listing of every post heard, newest first

    @staticmethod
    def listening_post(post_id: str) -> Key:
        return {"PK": f"LPOST#{post_id}", "SK": "POST"}

    @staticmethod
    def listening_post_index(created_at: datetime, post_id: str) -> dict[str, str]:
        return {"GSI1PK": ListeningKeys.LISTENING_POSTS, "GSI1SK": f"{iso(created_at)}#{post_id}"}

    @staticmethod
    def listening_author_index(author_id: str, created_at: datetime, post_id: str) -> dict[str, str]:
        """GSI2: one author's heard posts, newest first (a person's page; erasing a person)."""
        return {"GSI2PK": f"LAUTHOR#{author_id}", "GSI2SK": f"{iso(created_at)}#{post_id}"}

    @staticmethod
    def listening_author(author_id: str) -> str:
        return f"LAUTHOR#{author_id}"

    @staticmethod
    def listening_heard(post_id: str, rule_id: str) -> Key:
        """That a rule heard a post: written once, in the transaction that counts it for that rule."""
        return {"PK": f"LPOST#{post_id}", "SK": f"RULE#{rule_id}"}

    @staticmethod
    def listening_rule_posts(rule_id: str) -> str:
        return f"LRULEPOSTS#{rule_id}"

    @staticmethod
    def listening_heard_index(rule_id: str, created_at: datetime, post_id: str) -> dict[str, str]:
        """GSI1: one rule's posts newest first, through the items that say it heard them."""
        return {"GSI1PK": ListeningKeys.listening_rule_posts(rule_id), "GSI1SK": f"{iso(created_at)}#{post_id}"}

    @staticmethod
    def listening_terms_counted(post_id: str) -> Key:
        """That a post's terms were counted in its week's trends (once, whichever rule heard it first)."""
        return {"PK": f"LPOST#{post_id}", "SK": "TERMS"}

    LISTENING_DAYS = "LISTENING#DAYS"
    LISTENING_DAY_SHARDS = 10  # every post heard ADDs to one: ten spread a busy day

    @staticmethod
    def listening_day(day: str, shard: int) -> Key:
        """One shard of the posts heard on a UTC day (YYYY-MM-DD), by rule and by kind, with
        sentiment: share of voice reads a range of days with one query."""
        return {"PK": ListeningKeys.LISTENING_DAYS, "SK": f"{day}#{shard}"}

    @staticmethod
    def listening_terms(week: str) -> str:
        return f"LTERMS#{week}"

    @staticmethod
    def listening_term(week: str, term: str) -> Key:
        """How many posts heard in an ISO week (``2026-W48``) used a term or hashtag (expires with a TTL)."""
        return {"PK": ListeningKeys.listening_terms(week), "SK": term}
