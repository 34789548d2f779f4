"""What the networks deliver to us: an X webhook body, verified, read and applied.

A bad signature is refused before anything is parsed or written; a body we cannot read is a 400
and changes nothing; events for another account, and events we do not use, are acknowledged.
Each kind of event imports its module when it comes, and builds what it needs then (the spike
policy is a factory): a follow loads no feedback or DM code, and no settings model.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from chalicelib.errors import BadRequest, Conflict, Unauthorized
from chalicelib.observability import logger
from chalicelib.store import TransactionConflict
from chalicelib.x.events import (
    DirectMessage,
    FollowChange,
    Interaction,
    MalformedPayload,
    PostDeleted,
    XEvent,
    parse_delivery,
)
from chalicelib.x.webhooks import signature_is_valid

if TYPE_CHECKING:
    from chalicelib.feedback import SpikePolicy
    from chalicelib.sentiment import Classifier
    from chalicelib.store import Item, Store
    from chalicelib.subscribers import Enqueue


def receive_x_delivery(
    store: Store,
    *,
    body: bytes,
    signature: str | None,
    consumer_secret: str,
    account_id: str,
    now: datetime,
    enqueue: Enqueue,
    classifier: Classifier,
    spikes: Callable[[], SpikePolicy] | None = None,
    notify: Callable[[Item], None] | None = None,
) -> dict[str, Any]:
    """``spikes`` builds the spike policy, called only for a delivery with feedback in it."""
    if not signature_is_valid(consumer_secret, body, signature):
        raise Unauthorized("missing or invalid x-twitter-webhooks-signature")
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise BadRequest("the body is not valid JSON") from None
    try:
        delivery = parse_delivery(payload, received_at=now)
    except MalformedPayload as exc:
        raise BadRequest(str(exc)) from None
    if delivery.stream:  # a filtered-stream post: for listening, whoever wrote it
        from chalicelib.listening.posts import hear_delivery

        try:
            return hear_delivery(store, delivery.heard, classifier=classifier, account_id=account_id, now=now)
        except TransactionConflict:
            raise Conflict("the delivery met concurrent writes; redeliver it") from None
    if not account_id or delivery.account_id != account_id:
        logger.info("delivery for another account ignored", extra={"events": len(delivery.events)})
        return {"applied": 0, "duplicates": 0, "ignored": len(delivery.events) + delivery.unused}

    try:
        return _apply(store, delivery.events, delivery.unused, account_id, now, enqueue, classifier, spikes, notify)
    except TransactionConflict:
        # Events applied so far stay applied (each is idempotent); X's redelivery finishes the rest.
        raise Conflict("the delivery met concurrent writes; redeliver it") from None


def _apply(
    store: Store,
    events: Sequence[XEvent],
    unused: int,
    account_id: str,
    now: datetime,
    enqueue: Enqueue,
    classifier: Classifier,
    spikes: Callable[[], SpikePolicy] | None,
    notify: Callable[[Item], None] | None,
) -> dict[str, Any]:
    tally = {"applied": 0, "duplicates": 0, "ignored": unused}
    rules: list[Item] | None = None  # listening rules: read once, and only if there is text to match
    policy: SpikePolicy | None = None
    for event in events:
        if isinstance(event, FollowChange):
            from chalicelib.community import record_follow_change

            outcome = record_follow_change(store, event)
            applied = outcome.applied
            logger.info("follow change", extra={"kind": event.kind, "applied": applied, "requests": outcome.requests})
        elif isinstance(event, DirectMessage) and (command := _dm_command(store, event, enqueue)):
            applied = True
            logger.info("subscription command", extra={"command": command})
        elif isinstance(event, (DirectMessage, Interaction)):
            from chalicelib.feedback import record_feedback
            from chalicelib.listening.rules import all_rules

            rules = all_rules(store) if rules is None else rules
            policy = spikes() if policy is None and spikes is not None else policy
            applied = record_feedback(store, event, classifier, rules, policy, notify)
            if applied:
                reopen_conversation_of(store, event)
            if isinstance(event, Interaction) and event.kind in ("reply", "quote", "mention") and event.post_id:
                from chalicelib.listening.posts import withdraw_post

                withdraw_post(store, event.post_id)  # heard by listening first: counted once, as feedback
            logger.info("feedback", extra={"kind": getattr(event, "kind", "dm"), "applied": applied})
        elif isinstance(event, PostDeleted):
            from chalicelib.feedback import erase_post
            from chalicelib.listening.posts import erase_post as erase_listened

            applied = erase_post(store, event, now)  # a tombstone too, for a post still on its way
            erase_listened(store, event.post_id, event.occurred_at)
            logger.info("post deleted", extra={"first": applied})
        elif event.user_id == account_id:
            from chalicelib.channel import record_revocation

            applied = record_revocation(store, event, notify)
            logger.warning("authorization revoked", extra={"held": applied})
        else:
            tally["ignored"] += 1  # another user revoked the app: not the brand's concern
            continue
        tally["applied" if applied else "duplicates"] += 1
    return tally


def _dm_command(store: Store, event: DirectMessage, enqueue: Enqueue) -> str | None:
    from chalicelib.subscribers import handle_direct_message

    return handle_direct_message(store, event, enqueue)


def reopen_conversation_of(store: Store, event: DirectMessage | Interaction) -> None:
    """A later message in a conversation we answered reopens it (chalicelib.answers)."""
    from chalicelib.answers import reopen_conversation

    if isinstance(event, DirectMessage):
        author, kind, answers = event.sender.id, "dm", None
    else:
        author, kind, answers = event.author.id, event.kind, event.answers
    if kind != "like":
        reopen_conversation(
            store, author_id=author, kind=kind, answers=answers, new_id=event.event_id, at=event.occurred_at
        )
