"""Time-based one-time passwords (RFC 6238 over RFC 4226), standard library only.

HMAC-SHA1, 30-second steps, 6 digits: what every authenticator app (Google/Microsoft
Authenticator, FreeOTP, 阿里云/腾讯身份宝 …) expects from an otpauth:// URI. A code is
accepted one step early or late (±30 s) to allow for clock drift.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
import time
from urllib.parse import quote, urlencode

STEP_SECONDS = 30
DIGITS = 6
WINDOW = 1  # steps accepted before and after the current one
SECRET_BYTES = 20  # 160 bits, the size RFC 4226 recommends for HMAC-SHA1


def secret_generate() -> str:
    """A new random secret, base32 without padding (32 characters)."""
    return base64.b32encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii").rstrip("=")


def _key(secret: str) -> bytes:
    cleaned = secret.replace(" ", "").upper()
    return base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))


def step_at(at: float | None = None) -> int:
    """The RFC 6238 time counter T for a Unix time (now by default)."""
    return int((time.time() if at is None else at) // STEP_SECONDS)


def hotp(key: bytes, counter: int, digits: int = DIGITS) -> str:
    """RFC 4226 HOTP value of `counter` with dynamic truncation."""
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


def code_at(secret: str, at: float | None = None, digits: int = DIGITS) -> str:
    """The code an authenticator app shows for `secret` at Unix time `at`."""
    return hotp(_key(secret), step_at(at), digits)


def code_verify(secret: str, code: str, at: float | None = None) -> int | None:
    """The time step `code` belongs to (within the window), or None when it is wrong.

    The caller uses the step to refuse a code that was already used (replay)."""
    code = "".join(code.split())
    if not secret or len(code) != DIGITS or not code.isdigit():
        return None
    try:
        key = _key(secret)
    except ValueError:
        return None
    now = step_at(at)
    matched = None
    for counter in range(now - WINDOW, now + WINDOW + 1):
        # Compare every candidate in constant time; never stop at the first match.
        if hmac.compare_digest(hotp(key, counter), code):
            matched = counter
    return matched


def provisioning_uri(secret: str, *, account: str, issuer: str) -> str:
    """The otpauth:// URI (Key Uri Format) an authenticator app imports."""
    label = quote(f"{issuer}:{account}", safe="")
    params = urlencode(
        {
            "secret": secret,
            "issuer": issuer,
            "algorithm": "SHA1",
            "digits": DIGITS,
            "period": STEP_SECONDS,
        },
        quote_via=quote,
    )
    return f"otpauth://totp/{label}?{params}"
