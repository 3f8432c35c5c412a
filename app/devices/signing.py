"""The gateway callbacks' signature: HMAC-SHA256 over `<timestamp>.<raw body>` with the shared secret,
sent as `X-Gateway-Signature: sha256=<hex>` beside `X-Gateway-Timestamp: <unix seconds>`. Shared by
the receiving route and the simulator that signs, so both speak exactly the same scheme."""

import hashlib
import hmac

TIMESTAMP_HEADER = "X-Gateway-Timestamp"
SIGNATURE_HEADER = "X-Gateway-Signature"
MAX_AGE_SECONDS = 300  # older (or further in the future) callbacks are refused: replays of old captures
PREFIX = "sha256="


def signature(key: bytes, timestamp: str, body: bytes) -> str:
    return PREFIX + hmac.new(key, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def signed_headers(key: bytes, timestamp: int, body: bytes) -> dict[str, str]:
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: signature(key, str(timestamp), body),
            "Content-Type": "application/json"}


def verify(key: bytes, timestamp: str | None, given: str | None, body: bytes, now: float) -> str | None:
    """The signature's hex digest when the callback is authentic and fresh; None otherwise."""
    # ASCII digits only: str.isdigit() also accepts "²" or "١", which int() then refuses.
    if not timestamp or not given or len(timestamp) > 12 or not (timestamp.isascii() and timestamp.isdigit()):
        return None
    if abs(now - int(timestamp)) > MAX_AGE_SECONDS:
        return None
    expected = signature(key, timestamp, body)
    if not hmac.compare_digest(expected.encode(), given.strip().encode()):
        return None
    return expected.removeprefix(PREFIX)
