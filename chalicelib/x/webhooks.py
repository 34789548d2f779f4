"""X's webhook security: the CRC challenge and the payload signature.

Both are HMAC-SHA256 with the app's consumer secret, base64-encoded, prefixed ``sha256=``.
Pure functions: no AWS call, so a warm container answers a CRC from memory.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

SIGNATURE_HEADER = "x-twitter-webhooks-signature"


def sign(secret: str, message: bytes) -> str:
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode()


def crc_response(secret: str, crc_token: str) -> dict[str, str]:
    return {"response_token": sign(secret, crc_token.encode())}


def signature_is_valid(secret: str, body: bytes, header: str | None) -> bool:
    if not secret or not header:
        return False
    # compare_digest on bytes: constant time, and no error on non-ASCII junk in the header.
    return hmac.compare_digest(sign(secret, body).encode(), header.strip().encode("utf-8", "replace"))
