"""PRH's open company data (YTJ) as the organisation master's reference, where the site supplies it.

The landing area may hold ``ytj/<date>/`` with PRH's bulk download: the companies as the YTJ
open-data API (``opendata-ytj-api/v3``) writes them, a JSON array of companies or an object
with ``companies``, as it is or inside a ZIP. A company has ``businessId.value``, ``names``
(``type`` 1 the company name, 2 a parallel name, 3 an auxiliary name; ``endDate`` when it is
no longer in use), ``mainBusinessLine.type`` (TOL 2008) and ``addresses`` (``postCode``,
``postOffices`` with ``city`` and ``languageCode``: 1 Finnish). Fields it lacks are empty.

One row per company and name in use; DuckDB reads the file, so the national download (over
half a million companies) is read in seconds without holding its JSON in Python.
"""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path

import duckdb
import polars as pl

from pipelines.ingestion.problems import FileProblem
from schemas.identifiers import business_id_normalised

SYSTEM = "ytj"
NAME_KINDS = {"1": "name", "2": "parallel", "3": "auxiliary"}
_COMPANY = (
    "STRUCT(businessId STRUCT(value VARCHAR), names STRUCT(name VARCHAR, type VARCHAR, endDate VARCHAR)[], "
    "mainBusinessLine STRUCT(type VARCHAR), addresses STRUCT(type INTEGER, postCode VARCHAR, "
    "postOffices STRUCT(city VARCHAR, languageCode VARCHAR)[])[])"
)
COLUMNS = {"business_id": pl.Utf8, "name": pl.Utf8, "name_kind": pl.Utf8, "industry_code": pl.Utf8,
           "city": pl.Utf8, "postal_code": pl.Utf8}  # fmt: skip


def read_ytj(folder: Path) -> pl.DataFrame:
    """The companies' names in use, with Y-tunnus, business line, city and postcode (``COLUMNS``)."""
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".json", ".zip"))
    if not files:
        raise FileProblem(str(folder), "no YTJ file (a .json or .zip from PRH's open data) was found here")
    return pl.concat([_read(p) for p in files]).unique().sort("business_id", "name_kind", "name")


def _read(path: Path) -> pl.DataFrame:
    if path.suffix.lower() == ".zip":
        with zipfile.ZipFile(path) as archive, tempfile.TemporaryDirectory() as tmp:
            inside = [n for n in archive.namelist() if n.lower().endswith(".json")]
            if len(inside) != 1:
                raise FileProblem(str(path), f"the ZIP should hold one JSON file, not {len(inside)}")
            return _read_json(Path(archive.extract(inside[0], tmp)), str(path))
    return _read_json(path, str(path))


def _read_json(path: Path, shown: str) -> pl.DataFrame:
    with open(path, "rb") as f:
        first = f.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if first not in (b"[", b"{"):
        raise FileProblem(shown, "is not PRH's JSON: it should start with [ (companies) or { (an API answer)")
    source = (
        f"(SELECT unnest(companies, max_depth := 2) FROM read_json(?, format = 'unstructured', "
        f"columns = {{companies: '{_COMPANY}[]'}}, maximum_object_size = 1073741824))"
        if first == b"{"
        else f"(SELECT unnest(c) FROM read_json(?, format = 'array', columns = {{c: '{_COMPANY}'}}, "
        "records = false, maximum_object_size = 1073741824))"
    )
    sql = f"""
        SELECT businessId.value AS business_id, n.name AS name, n.type AS name_type,
               mainBusinessLine.type AS industry_code,
               list_filter(
                   list_filter(addresses, lambda a: a.type = 1)[1].postOffices, lambda p: p.languageCode = '1'
               )[1].city AS city,
               list_filter(addresses, lambda a: a.type = 1)[1].postCode AS postal_code
        FROM {source} AS company, unnest(company.names) AS t(n)
        WHERE n.endDate IS NULL AND n.name IS NOT NULL
    """
    try:
        frame = duckdb.connect().sql(sql, params=[str(path)]).pl()
    except duckdb.Error as err:
        raise FileProblem(shown, f"cannot be read as PRH's company JSON ({str(err).splitlines()[0]})") from None
    return frame.select(
        business_id_normalised("business_id").alias("business_id"),
        pl.col("name").str.strip_chars(),
        pl.col("name_type").replace_strict(NAME_KINDS, default="other").alias("name_kind"),
        "industry_code",
        pl.col("city").str.to_titlecase(),
        "postal_code",
    ).filter(pl.col("business_id").is_not_null())
