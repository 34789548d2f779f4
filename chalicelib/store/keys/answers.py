"""Answers: replies and DMs to feedback, once per idempotency key (chalicelib.answers), the
conversations they continue, and the feedback waiting for one."""

from __future__ import annotations

from datetime import datetime

from chalicelib.store.keys.parts import Key, iso


class AnswerKeys:
    """Answers to feedback, and the conversations they continue."""

    @staticmethod
    def answer(feedback_id: str, key: str) -> Key:
        """One answer to a feedback item, claimed under its idempotency key."""
        return {"PK": AnswerKeys.answers_partition(feedback_id), "SK": f"KEY#{key}"}

    @staticmethod
    def answers_partition(feedback_id: str) -> str:
        return f"ANSWER#{feedback_id}"

    ANSWERS_CHECKING = "ANSWERS#CHECKING"  # GSI1 listing: answers whose outcome is being looked up

    @staticmethod
    def answer_checking_index(due: datetime, feedback_id: str, key: str) -> dict[str, str]:
        return {"GSI1PK": AnswerKeys.ANSWERS_CHECKING, "GSI1SK": f"{iso(due)}#{feedback_id}#{key}"}

    @staticmethod
    def answered_post(post_id: str) -> Key:
        """Our answer's post: a reply to it continues the conversation of this feedback item."""
        return {"PK": f"POST#{post_id}", "SK": "ANSWERED"}

    @staticmethod
    def dm_conversation(user_id: str) -> Key:
        """The DM conversation with one person: the feedback item we last answered in it."""
        return {"PK": f"CONVERSATION#DM#{user_id}", "SK": "LAST_ANSWERED"}

    WAITING = "FEEDBACK#WAITING"  # feedback waiting for an answer, oldest first
    WAITING_UNALERTED = "FEEDBACK#WAITING#UNALERTED"  # the same, until the long-wait alert is raised

    @staticmethod
    def waiting(partition: str, since: datetime, feedback_id: str) -> Key:
        return {"PK": partition, "SK": f"{iso(since)}#{feedback_id}"}

    @staticmethod
    def recent_reply_text(digest: str) -> Key:
        """A reply text we sent lately (expires with a TTL): X refuses an identical post."""
        return {"PK": f"REPLYTEXT#{digest}", "SK": "TEXT"}

    @staticmethod
    def response_times(scope: str, week: str) -> Key:
        """Times to first answer in one ISO week (``2026-W48``) for one scope (``all`` or an operator)."""
        return {"PK": f"RESPONSES#{scope}", "SK": week}
