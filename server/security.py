"""Passwords and bearer tokens.

Passwords are hashed with argon2 (slow on purpose). Tokens are 256-bit random strings, so a fast
SHA-256 of them is enough to store and look them up; the plain token is shown only once.
"""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()

OFFICER_TOKEN_PREFIX = "hds_"
DEVICE_TOKEN_PREFIX = "hdd_"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether a stored hash was made with other argon2 settings than today's (an older release)."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


# Verifying against this keeps a login for an unknown username as slow as a wrong password, so
# response time does not reveal which usernames exist.
DUMMY_HASH = _hasher.hash("hangdoi-timing-equaliser")


def new_token(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_ticket_code() -> str:
    """The unguessable code in a ticket's QR link (96 random bits)."""
    return secrets.token_urlsafe(12)
