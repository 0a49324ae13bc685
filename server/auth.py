"""Passwords (scrypt with a per-user salt) and opaque session tokens (only their SHA-256 is stored)."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
SCRYPT_DKLEN = 32
_SCRYPT_MAXMEM = 64 * 1024 * 1024
MIN_PASSWORD_CHARS = 8
COMMON_PASSWORDS_FILE = Path(__file__).with_name("common_passwords.json")
# Digits and punctuation people add to a common word to pass a length rule ("Password123!").
_DECORATION = "0123456789!@#$%^&*?.,_-+= "


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, dklen: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=dklen, maxmem=_SCRYPT_MAXMEM
    )


def hash_password(password: str) -> str:
    """``scrypt$n$r$p$salt$key`` so the cost can be raised later without breaking stored hashes."""
    salt = os.urandom(16)
    key = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P, SCRYPT_DKLEN)
    encoded_salt = base64.b64encode(salt).decode("ascii")
    encoded_key = base64.b64encode(key).decode("ascii")
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${encoded_salt}${encoded_key}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, encoded_salt, encoded_key = stored.split("$")
        if scheme != "scrypt":
            return False
        salt = base64.b64decode(encoded_salt)
        expected = base64.b64decode(encoded_key)
        actual = _scrypt(password, salt, int(n), int(r), int(p), len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


# Verified against when the user name is unknown, so a wrong name costs as long as a wrong password
# and response times do not reveal which accounts exist.
@functools.cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def burn_password_check(password: str) -> None:
    verify_password(password, _dummy_hash())


@functools.cache
def _common_passwords() -> frozenset[str]:
    document = json.loads(COMMON_PASSWORDS_FILE.read_text(encoding="utf-8"))
    return frozenset(document["passwords"])


def check_password_strength(password: str, user_name: str = "") -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        raise ValueError(f"Passwords need at least {MIN_PASSWORD_CHARS} characters")
    folded = password.casefold()
    stem = folded.rstrip(_DECORATION) or folded
    if folded in _common_passwords() or stem in _common_passwords():
        raise ValueError("This password is on the list of common passwords; choose another")
    if user_name and user_name.casefold() in (folded, stem):
        raise ValueError("A password cannot be the user name")


@dataclass(frozen=True)
class IssuedToken:
    token: str
    token_hash: str


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> IssuedToken:
    token = secrets.token_urlsafe(32)
    return IssuedToken(token=token, token_hash=token_hash(token))
