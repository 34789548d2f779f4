"""The console: operators, their sessions, sign-in throttles, what they did, saved replies."""

from __future__ import annotations

from datetime import datetime

from chalicelib.store.keys.parts import Key, iso


class ConsoleKeys:
    """Operators, sessions, sign-in throttles, activity, saved replies."""

    OPERATORS = "OPERATORS"

    @staticmethod
    def operator(email: str) -> Key:
        """An operator's account, keyed by the email they sign in with (case-insensitive, so unique)."""
        return {"PK": f"OPERATOR#{email.casefold()}", "SK": "OPERATOR"}

    @staticmethod
    def operator_index(created_at: datetime, operator_id: str) -> dict[str, str]:
        return {"GSI1PK": ConsoleKeys.OPERATORS, "GSI1SK": f"{iso(created_at)}#{operator_id}"}

    @staticmethod
    def session(digest: str) -> Key:
        """A console session, under the SHA-256 of its id: the table never holds a usable cookie."""
        return {"PK": f"SESSION#{digest}", "SK": "SESSION"}

    @staticmethod
    def sign_in_failures(scope: str, subject: str, window: str) -> Key:
        """Failed sign-ins for one account or source address in one window (expires with a TTL)."""
        return {"PK": f"SIGNIN#{scope}#{subject}", "SK": window}

    ACTIVITY = "ACTIVITY"  # GSI1 listing of operators' actions, newest first

    @staticmethod
    def activity(activity_id: str) -> Key:
        return {"PK": f"ACTIVITY#{activity_id}", "SK": "ACTIVITY"}

    @staticmethod
    def activity_index(at: datetime, activity_id: str) -> dict[str, str]:
        return {"GSI1PK": ConsoleKeys.ACTIVITY, "GSI1SK": f"{iso(at)}#{activity_id}"}

    SAVED_REPLIES = "SAVED_REPLIES"

    @staticmethod
    def saved_reply(reply_id: str) -> Key:
        return {"PK": ConsoleKeys.SAVED_REPLIES, "SK": reply_id}
