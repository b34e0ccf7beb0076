"""Keyed pseudonyms: HMAC-SHA256 with a secret that is never stored with the data."""

from __future__ import annotations

import hashlib
import hmac
import math
import os
import secrets
from pathlib import Path

import polars as pl

from pipelines.ingestion.secrets import SecretProblem, read_secret_file

PSEUDONYM_LENGTH = 32


def pseudonymise(values: pl.Series, key: bytes, domain: str) -> pl.Series:
    """The same value and key give the same pseudonym; without the key they cannot be linked back."""
    unique = values.unique().drop_nulls()
    keyed = hmac.new(key, f"{domain}:".encode(), hashlib.sha256)  # (copying the keyed state beats keying per value)
    digests = [_digest(keyed.copy(), v) for v in unique]
    return values.replace_strict(unique, pl.Series(digests, dtype=pl.Utf8), default=None, return_dtype=pl.Utf8)


def _digest(keyed: hmac.HMAC, value: str) -> str:
    keyed.update(value.encode())
    return keyed.hexdigest()[:PSEUDONYM_LENGTH]


def provider_key(key: bytes, provider: str) -> bytes:
    """A network provider's own pseudonym key, derived from the network's key: the same person at two providers
    gets two pseudonyms nobody can link, and one provider's key tells nothing of another's."""
    return hmac.new(key, f"provider:{provider}".encode(), hashlib.sha256).hexdigest().encode()


KEY_VARIABLE = "TIEDOLLA_PSEUDONYM_KEY"
KEY_FILE_VARIABLE = "TIEDOLLA_PSEUDONYM_KEY_FILE"
MIN_KEY_LENGTH = 20
#: a key must take at least this much guessing by zxcvbn's estimate (dictionary words, sequences like
#: ``abcdef…`` or ``0123…``, keyboard patterns and years cost an attacker little, whatever their length)
MIN_KEY_BITS = 64
#: the key `tiedolla demo` uses: public, so it works only for a warehouse that `tiedolla demo` made
DEMO_KEY = "DEMO-KEY-not-secret-only-for-synthetic-demo-data"
HOW_TO = (
    f"set {KEY_VARIABLE} to a long random secret, or {KEY_FILE_VARIABLE} (or --pseudonym-key-file) to a "
    "file holding one, kept outside the warehouse and the landing folder, e.g. "
    f"`export {KEY_VARIABLE}=$(tiedolla key new)`"
)


class KeyProblem(ValueError):
    """No usable pseudonym key; the message says how to set one."""


def pseudonym_key(
    explicit: str | None = None, key_file: str | None = None, keep_away_from: tuple[Path, ...] = ()
) -> bytes:
    """The secret: given, else from a key file (argument or environment), else from the environment.

    A key file inside the warehouse or landing folder is refused: the key must never be stored
    with the data it protects.
    """
    key_file = key_file or os.environ.get(KEY_FILE_VARIABLE)
    if explicit is None and key_file:
        try:
            explicit = read_secret_file(key_file, "pseudonym key", keep_away_from)
        except SecretProblem as problem:
            raise KeyProblem(str(problem)) from None
    key = explicit if explicit is not None else os.environ.get(KEY_VARIABLE)
    if not key:
        raise KeyProblem(f"no pseudonym key: {HOW_TO}")
    if key != key.strip():
        raise KeyProblem(
            "the pseudonym key begins or ends with a space or a line break (a stray character in the variable or "
            f"the file?): give the key exactly; {HOW_TO}"
        )
    if key == DEMO_KEY:
        return key.encode()  # (public: the warehouse takes it only where `tiedolla demo` made it, Warehouse.check_key)
    if len(key) < MIN_KEY_LENGTH:
        raise KeyProblem(f"the pseudonym key is too short ({len(key)} characters, at least {MIN_KEY_LENGTH}): {HOW_TO}")
    if key_bits(key) < MIN_KEY_BITS:
        raise KeyProblem(
            f"the pseudonym key is too easy to guess (about {key_bits(key):.0f} bits by zxcvbn's estimate; at least "
            f"{MIN_KEY_BITS}): {HOW_TO}"
        )
    return key.encode()


def key_bits(key: str) -> float:
    """How much guessing a key takes, in bits, by zxcvbn's estimate (the well-kept password-strength library: it
    knows words, names, sequences, repeats, keyboard walks and dates, not just the characters' spread)."""
    from zxcvbn import zxcvbn

    return zxcvbn(key[:100], user_inputs=GUESSABLE_WORDS)["guesses_log10"] * math.log2(10)  # (100: zxcvbn's pace)


#: words an attacker of this warehouse tries first (zxcvbn's dictionaries are English): ours, and Finnish ones
GUESSABLE_WORDS = [
    *("tiedolla", "tiedolla johtaminen", "koski", "primus", "opiskelija", "opiskelijat", "oppilaitos", "demo"),
    *("avain", "salasana", "salainen", "pseudonyymi", "testi", "tunnus", "koulutus", "ammattiopisto", "kouvola"),
    *("key", "secret", "pseudonym", "warehouse", "test", "password"),
]


def new_key() -> str:
    """A key for a new warehouse: 256 random bits (``tiedolla key new``)."""
    return secrets.token_hex(32)


def fingerprint(key: bytes) -> str:
    """Names a key without revealing it: the warehouse keeps it, so a run with another key is noticed."""
    return hmac.new(key, b"tiedolla:key-fingerprint", hashlib.sha256).hexdigest()[:16]
