"""What the networks deliver to us: an X webhook body, verified, read and applied.

A bad signature is refused before anything is parsed or written; a body we cannot read is a 400
and changes nothing; events for another account, and events we do not use, are acknowledged.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from chalicelib.channel import record_revocation
from chalicelib.community import record_follow_change
from chalicelib.errors import BadRequest, Unauthorized
from chalicelib.observability import logger
from chalicelib.store import Store
from chalicelib.subscribers import Enqueue, handle_direct_message
from chalicelib.x.events import DirectMessage, FollowChange, MalformedPayload, Revocation, parse_delivery
from chalicelib.x.webhooks import signature_is_valid


def receive_x_delivery(
    store: Store,
    *,
    body: bytes,
    signature: str | None,
    consumer_secret: str,
    account_id: str,
    now: datetime,
    enqueue: Enqueue,
) -> dict[str, Any]:
    if not signature_is_valid(consumer_secret, body, signature):
        raise Unauthorized("missing or invalid x-twitter-webhooks-signature")
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("the body is not valid JSON") from None
    try:
        delivery = parse_delivery(payload, received_at=now)
    except MalformedPayload as exc:
        raise BadRequest(str(exc)) from None
    if not account_id or delivery.account_id != account_id:
        logger.info("delivery for another account ignored", extra={"events": len(delivery.events)})
        return {"applied": 0, "duplicates": 0, "ignored": len(delivery.events) + delivery.unused}

    applied = duplicates = ignored = 0
    for event in delivery.events:
        if isinstance(event, FollowChange):
            outcome = record_follow_change(store, event)
            applied += outcome.applied
            duplicates += not outcome.applied
            logger.info(
                "follow change",
                extra={"kind": event.kind, "applied": outcome.applied, "requests": outcome.requests},
            )
        elif isinstance(event, DirectMessage):
            command = handle_direct_message(store, event, enqueue)
            applied += command is not None
            logger.info("direct message", extra={"command": command})
        elif not isinstance(event, Revocation):
            ignored += 1  # replies, mentions, likes and deletes: feedback capture is not wired in yet
        elif event.user_id == account_id:
            held = record_revocation(store, event)
            applied += held
            duplicates += not held
            logger.warning("authorization revoked", extra={"held": held})
    return {"applied": applied, "duplicates": duplicates, "ignored": delivery.unused + ignored}
