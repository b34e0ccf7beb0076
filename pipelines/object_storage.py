"""Object storage (S3 and S3-compatible servers, Azure Blob Storage, Google Cloud Storage) through obstore.

A location is a URL: ``s3://bucket/prefix``, Azure's ``abfs://container@account.dfs.core.windows.net/prefix`` or
``az://account/container/prefix``, ``gs://bucket/prefix``. Credentials and endpoints are the store's own environment
variables, as every tool of that cloud reads them (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
``AWS_REGION``, ``AWS_ENDPOINT_URL`` and ``AWS_ALLOW_HTTP`` for a server of one's own; ``AZURE_STORAGE_ACCOUNT_NAME``,
``AZURE_STORAGE_ACCOUNT_KEY`` or ``AZURE_STORAGE_USE_EMULATOR``): never in a command line or the site configuration.

An object store has no rename and no ``flock``. What makes a lock and a release safe there is the conditional
write: create an object only if it is absent, replace it only if it is still the version read (its ETag).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import obstore
from obstore.exceptions import AlreadyExistsError, BaseError, PreconditionError
from obstore.store import from_url

#: URL schemes of object storage (a plain path or ``file://`` is local disk)
SCHEMES = ("s3", "s3a", "az", "azure", "abfs", "abfss", "adl", "gs")


def is_remote(location: str | os.PathLike) -> bool:
    """Whether ``location`` is an object store's URL, not a folder."""
    return urlsplit(str(location)).scheme in SCHEMES


class Unreachable(Exception):
    """An object store that cannot be worked on (no such bucket, a server that does not answer, a refusal), in
    words and naming the location: never the store client's debug dump."""


#: what a store answers when the bucket or container itself is missing (S3's, Azure's error codes)
MISSING_CONTAINER = ("NoSuchBucket", "ContainerNotFound")


def _in_words(method: Callable) -> Callable:
    """A :class:`Bucket` method whose store errors are raised as :class:`Unreachable` (a missing object stays the
    ``FileNotFoundError`` the methods answer for themselves)."""

    @functools.wraps(method)
    def in_words(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except (BaseError, FileNotFoundError) as err:
            said = str(err)
            if any(code in said for code in MISSING_CONTAINER):
                why = "its bucket or container does not exist, or these credentials cannot see it"
            elif isinstance(err, FileNotFoundError):
                raise
            elif "error sending request" in said:
                why = "the object store does not answer: check its address (AWS_ENDPOINT_URL, …) and the network"
            else:
                why = f"the object store refused: {said.splitlines()[0][:300]}"
            raise Unreachable(f"{self.url}: {why}") from None

    return in_words


@dataclass(frozen=True)
class Entry:
    """An object as a listing shows it: enough to tell whether it changed."""

    size: int
    e_tag: str


class Bucket:
    """A folder in an object store (the URL's bucket or container and prefix); paths in it use ``/``."""

    @_in_words
    def __init__(self, url: str):
        self.url = url.rstrip("/")
        # (S3 makes a write conditional on an ETag only when asked; Azure and Google always can)
        extra = {"conditional_put": "etag"} if urlsplit(url).scheme in ("s3", "s3a") else {}
        self._store = from_url(self.url, **extra)

    def __str__(self) -> str:
        return self.url

    @_in_words
    def listing(self) -> dict[str, Entry]:
        """Every object under the folder, by its path in it."""
        return {
            meta["path"]: Entry(meta["size"], meta["e_tag"] or "")
            for batch in obstore.list(self._store)
            for meta in batch
        }

    @_in_words
    def read(self, path: str) -> tuple[bytes, str] | None:
        """An object's bytes and ETag (None: there is none)."""
        try:
            got = obstore.get(self._store, path)
        except FileNotFoundError:
            return None
        return bytes(got.bytes()), got.meta["e_tag"] or ""

    @_in_words
    def download(self, path: str, target: Path) -> str:
        """Copy an object to ``target`` (whole or not at all: written beside it, then renamed); its ETag."""
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.download")
        got = obstore.get(self._store, path)
        with open(partial, "wb") as out:
            for chunk in got:
                out.write(chunk)
        os.replace(partial, target)
        return got.meta["e_tag"] or ""

    @_in_words
    def upload(self, source: Path, path: str) -> str:
        """Write a local file as an object (a large one in parts; it appears only when whole); its ETag."""
        return obstore.put(self._store, path, source)["e_tag"] or ""

    @_in_words
    def create(self, path: str, data: bytes) -> str | None:
        """Write an object only if there is none: its ETag, or None when one exists already."""
        try:
            return obstore.put(self._store, path, data, mode="create")["e_tag"]
        except AlreadyExistsError:
            return None

    @_in_words
    def replace(self, path: str, data: bytes, e_tag: str | None) -> str | None:
        """Replace the object only if it is still the version with ``e_tag`` (None: only if there is none); its new
        ETag, or None when another writer changed it first."""
        if e_tag is None:
            return self.create(path, data)
        try:
            return obstore.put(self._store, path, data, mode={"e_tag": e_tag})["e_tag"]
        except (PreconditionError, FileNotFoundError):
            return None

    @_in_words
    def delete(self, paths: Iterable[str]) -> None:
        paths = list(paths)
        if paths:
            obstore.delete(self._store, paths)
