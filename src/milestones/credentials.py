"""Hashing of client secrets and bearer tokens (standard library), and of console passwords
(argon2id: slow and memory-hard on purpose, since people choose passwords)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_ITERATIONS = 120_000
# What an unknown client id is checked against, so that it costs the same PBKDF2 run as a
# wrong secret. Its digest is random, not derived from any secret: no secret matches it
# (short of a SHA-256 collision), and making it costs nothing at start-up.
_NO_CLIENT_HASH = (
    f"pbkdf2_sha256${_ITERATIONS}${base64.b64encode(secrets.token_bytes(16)).decode()}"
    f"${base64.b64encode(secrets.token_bytes(32)).decode()}"
)


def hash_secret(secret: str) -> str:
    """A salted PBKDF2-SHA256 hash of a client secret, safe to store."""
    salt = secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", secret.encode(), salt, _ITERATIONS)
    encoded_salt = base64.b64encode(salt).decode()
    return f"pbkdf2_sha256${_ITERATIONS}${encoded_salt}${base64.b64encode(digest).decode()}"


def verify_secret(secret: str, stored: str) -> bool:
    """Whether ``secret`` matches a hash made by :func:`hash_secret`."""
    try:
        scheme, iterations, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "pbkdf2_sha256":
        return False
    candidate = hashlib.pbkdf2_hmac(
        "sha256", secret.encode(), base64.b64decode(salt), int(iterations)
    )
    return hmac.compare_digest(candidate, base64.b64decode(digest))


def verify_for_unknown_client(secret: str) -> bool:
    """Spend on a secret of an unknown client id what :func:`verify_secret` spends on a known
    one (the same PBKDF2 run, the same iterations), and answer False: which ids exist must
    not show in how long a refusal takes."""
    verify_secret(secret, _NO_CLIENT_HASH)
    return False


def new_token() -> str:
    """A fresh random bearer token."""
    return secrets.token_urlsafe(32)


def new_secret() -> str:
    """A fresh random client secret."""
    return secrets.token_urlsafe(24)


def token_digest(token: str) -> str:
    """The stored form of a bearer token: high-entropy, so a plain SHA-256 suffices."""
    return hashlib.sha256(token.encode()).hexdigest()


# argon2id at RFC 9106's second recommended option, lighter in memory: 3 passes over
# 64 MiB, 2 lanes (about 60 ms a check on this project's 2-core machine; decisions.md).
_PASSWORDS = PasswordHasher(time_cost=3, memory_cost=65_536, parallelism=2)


@cache
def _no_user_hash() -> str:
    """What an unknown email's password is checked against: the same cost as a known one
    (made on first use, not at import: a hash costs what a check does)."""
    return _PASSWORDS.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    """An argon2id hash of a console user's password (salted, parameters inside)."""
    return _PASSWORDS.hash(password)


def verify_password(password: str, stored: str | None) -> bool:
    """Whether ``password`` matches ``stored``; with no hash (an unknown email) the same
    argon2 run is spent and the answer is False."""
    try:
        return _PASSWORDS.verify(stored or _no_user_hash(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def unusable_secret_hash() -> str:
    """A client secret hash that no secret matches: a random digest under a scheme
    :func:`verify_secret` reads (a console user's API client is never signed in with)."""
    salt = base64.b64encode(secrets.token_bytes(16)).decode()
    digest = base64.b64encode(secrets.token_bytes(32)).decode()
    return f"pbkdf2_sha256${_ITERATIONS}${salt}${digest}"
