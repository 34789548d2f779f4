"""X's webhook security: the CRC challenge and the payload signature.

Both are HMAC-SHA256 with the app's consumer secret, base64-encoded, prefixed ``sha256=``.
Pure functions: no AWS call, so a warm container answers a CRC from memory.

Because the CRC answer and a delivery's signature are the same HMAC under the same key, the CRC
would sign anything it is given, a forged delivery included. So it answers only what X sends as a
challenge: a short base64 or base64url string. Those characters cannot form a JSON object (no
``{``), so no CRC answer is ever a valid signature for a body the webhook accepts.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from chalicelib.errors import BadRequest

SIGNATURE_HEADER = "x-twitter-webhooks-signature"
MAX_CRC_TOKEN_LENGTH = 255
_CHALLENGE_TOKEN = re.compile(rf"[A-Za-z0-9+/=_-]{{1,{MAX_CRC_TOKEN_LENGTH}}}")


def sign(secret: str, message: bytes) -> str:
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode()


def is_challenge_token(token: str) -> bool:
    """A token shaped like X's CRC challenges: 1 to 255 base64 or base64url characters."""
    return _CHALLENGE_TOKEN.fullmatch(token) is not None


def crc_response(secret: str, crc_token: str | None) -> dict[str, str]:
    """The answer to X's CRC; a missing token, or one that is not a challenge's shape, is a 400."""
    if not crc_token:
        raise BadRequest("crc_token is required", fields={"crc_token": "missing"})
    if not is_challenge_token(crc_token):
        raise BadRequest(
            f"crc_token must be 1 to {MAX_CRC_TOKEN_LENGTH} base64 or base64url characters",
            fields={"crc_token": "not a CRC challenge token"},
        )
    return {"response_token": sign(secret, crc_token.encode())}


def signature_is_valid(secret: str, body: bytes, header: str | None) -> bool:
    if not secret or not header:
        return False
    # compare_digest on bytes: constant time, and no error on non-ASCII junk in the header.
    return hmac.compare_digest(sign(secret, body).encode(), header.strip().encode("utf-8", "replace"))
