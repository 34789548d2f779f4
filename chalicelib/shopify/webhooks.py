"""Shopify's webhook signature: base64 HMAC-SHA256 of the raw body with the app's webhook secret,
in ``X-Shopify-Hmac-Sha256`` (no prefix, unlike X's)."""

from __future__ import annotations

import base64
import hashlib
import hmac

HMAC_HEADER = "x-shopify-hmac-sha256"
WEBHOOK_ID_HEADER = "x-shopify-webhook-id"
TOPIC_HEADER = "x-shopify-topic"


def sign(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def hmac_is_valid(secret: str, body: bytes, header: str | None) -> bool:
    if not secret or not header:
        return False
    return hmac.compare_digest(sign(secret, body).encode(), header.strip().encode("utf-8", "replace"))
