"""The community: followers by status, the sharded follow counters, and handles for a prefix search."""

from __future__ import annotations

from datetime import datetime

from chalicelib.store.keys.parts import Key, iso


class CommunityKeys:
    """Followers and the community's counters."""

    @staticmethod
    def follower(user_id: str) -> Key:
        return {"PK": f"FOLLOWER#{user_id}", "SK": "PROFILE"}

    @staticmethod
    def followers_by_status(status: str) -> str:
        return f"FOLLOWERS#{status}"

    @staticmethod
    def follower_index(status: str, since: datetime, user_id: str) -> dict[str, str]:
        # Newest first within a status: who joined lately, or who left lately.
        return {"GSI1PK": CommunityKeys.followers_by_status(status), "GSI1SK": f"{iso(since)}#{user_id}"}

    # Counters every follow moves are sharded, so a viral moment's follows do not queue on one
    # item: a follower's events always land in its shard (``shard_of``); reads sum the shards.
    COMMUNITY_SHARDS = 10

    @staticmethod
    def community_totals(shard: int) -> Key:
        """One shard of followers now, ever followed, unfollows."""
        return {"PK": "COMMUNITY", "SK": f"TOTALS#{shard}"}

    COMMUNITY_DAYS = "COMMUNITY#DAYS"

    @staticmethod
    def community_day(day: str, shard: int) -> Key:
        """One shard of the joins and leaves on a UTC day (YYYY-MM-DD); a query reads a range of days."""
        return {"PK": CommunityKeys.COMMUNITY_DAYS, "SK": f"{day}#{shard}"}

    @staticmethod
    def handles(first: str) -> str:
        """The partition of follower handles starting with one character (a prefix search's range)."""
        return f"HANDLE#{first}"

    @staticmethod
    def follower_handle(handle: str, user_id: str) -> Key:
        """A person under their handle, case-folded, so the console finds them by a handle's prefix:
        written with a follow, and with feedback (people known only from what they said)."""
        folded = handle.casefold()
        return {"PK": CommunityKeys.handles(folded[:1]), "SK": f"{folded}#{user_id}"}
