"""The site's KOSKI password: KOSKI encrypts its report with the password typed when downloading it.

A secret kept like the pseudonym key: in the environment (``TIEDOLLA_KOSKI_PASSWORD``) or a file the command line
names (``--koski-password-file``, passed on as ``TIEDOLLA_KOSKI_PASSWORD_FILE``), never in the landing area beside
the reports it opens, and never in the site configuration.
"""

from __future__ import annotations

import os
from pathlib import Path

PASSWORD_VARIABLE = "TIEDOLLA_KOSKI_PASSWORD"
PASSWORD_FILE_VARIABLE = "TIEDOLLA_KOSKI_PASSWORD_FILE"
#: the password of the demo's KOSKI reports (synthetic data): public, like the demo's pseudonym key
DEMO_PASSWORD = "demo-koski-salasana"


class SecretProblem(ValueError):
    """The KOSKI password file cannot be used; the message says why."""


def read_secret_file(name: str, what: str, keep_away_from: tuple[Path, ...] = ()) -> str:
    """A secret from the file ``name`` (``what`` names it in a message): refused inside one of ``keep_away_from``,
    the folders of the data it protects or opens."""
    path = Path(name).resolve()
    for folder in keep_away_from:
        if path.is_relative_to(Path(folder).resolve()):
            raise SecretProblem(
                f"the {what} file {path} is inside {folder}: keep the {what.split()[-1]} away from the data"
            )
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as err:
        raise SecretProblem(f"cannot read the {what} file {path}: {err.strerror}") from None


def koski_password(keep_away_from: tuple[Path, ...] = ()) -> str | None:
    """The KOSKI password from a password file (``TIEDOLLA_KOSKI_PASSWORD_FILE``) or the environment, or None.

    A password file inside the landing area is refused: the password must not lie beside the files it opens."""
    name = os.environ.get(PASSWORD_FILE_VARIABLE)
    if name:
        return read_secret_file(name, "KOSKI password", keep_away_from) or None
    return os.environ.get(PASSWORD_VARIABLE) or None


#: KOSKI's service user (palvelukäyttäjä) for its bulk-data API, kept like the other secrets
API_USER_VARIABLE = "TIEDOLLA_KOSKI_API_USER"
API_PASSWORD_VARIABLE = "TIEDOLLA_KOSKI_API_PASSWORD"


def koski_api_user(password_file: str | None, keep_away_from: tuple[Path, ...] = ()) -> tuple[str, str]:
    """KOSKI's service user and password: the user from the environment, the password from ``password_file`` (kept
    away from the landing area) or the environment."""
    user = os.environ.get(API_USER_VARIABLE, "").strip()
    password = (
        read_secret_file(password_file, "KOSKI service user's password", keep_away_from)
        if password_file
        else os.environ.get(API_PASSWORD_VARIABLE, "")
    )
    if not user or not password:
        raise SecretProblem(
            f"KOSKI's service user is not given: set {API_USER_VARIABLE}, and {API_PASSWORD_VARIABLE} or "
            "--password-file (a file outside the landing area)"
        )
    return user, password
