"""People: one X user as outlet knows them (chalicelib.people)."""

from __future__ import annotations

from datetime import datetime

from chalicelib.store.keys.parts import Key, iso


class PeopleKeys:
    """One person's partition."""

    @staticmethod
    def person(user_id: str) -> str:
        """One person's partition: their feedback and the answers they were given, each in time
        order (pointers and our own answers only: their texts stay on the feedback items, which a
        deletion erases), and the mark of an erasure."""
        return f"PERSON#{user_id}"

    PERSON_FEEDBACK = "FEEDBACK#"
    PERSON_ANSWER = "ANSWER#"

    @staticmethod
    def person_feedback(user_id: str, at: datetime, feedback_id: str) -> Key:
        """A feedback item by this person (written in the item's own transaction)."""
        return {"PK": PeopleKeys.person(user_id), "SK": f"{PeopleKeys.PERSON_FEEDBACK}{iso(at)}#{feedback_id}"}

    @staticmethod
    def person_answer(user_id: str, at: datetime, feedback_id: str, key: str) -> Key:
        """An answer we sent this person (written in the answer's recording transaction)."""
        return {"PK": PeopleKeys.person(user_id), "SK": f"{PeopleKeys.PERSON_ANSWER}{iso(at)}#{feedback_id}#{key}"}

    PERSON_HANDLE = "HANDLE#"

    @staticmethod
    def person_handle(user_id: str, handle: str) -> Key:
        """A handle this person was found under (case-folded): written in the same transaction as
        their entry in the handle search, so an erasure finds every such entry from their partition."""
        return {"PK": PeopleKeys.person(user_id), "SK": f"{PeopleKeys.PERSON_HANDLE}{handle.casefold()}"}

    @staticmethod
    def person_erased(user_id: str) -> Key:
        """That this person's texts were erased (X compliance), and when."""
        return {"PK": PeopleKeys.person(user_id), "SK": "ERASED"}
