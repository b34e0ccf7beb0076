"""The site configuration (``pipelines/site.py``): read once per run, and a setting that cannot be used is refused
before anything runs, naming the file, the setting and its line."""

import pytest

from pipelines.resources import LandingArea
from pipelines.site import DEFAULT_SITE_CONFIG, Site, SiteConfigError
from tests.conftest import TEST_KEY, run_cli
from tests.landing import valid_rows, write_landing


def test_the_shipped_configuration_reads_as_documented():
    site = Site.read()
    assert site.file == DEFAULT_SITE_CONFIG and not site.own
    assert site.quality == {"max_quarantine_share": 0.3, "min_rows": 20}
    assert site.shrink_limit == (0.5, 20) and site.missing_sources_allowed == set()
    assert site.max_file_bytes == 4_000_000_000 and site.retention_days == 180 and site.data_docs_enabled
    assert site.delimiter_and_quote("student_admin") == (";", '"') and site.delimiter_and_quote("crm") == (",", '"')
    assert site.organization_matching["match_probability"] == 0.2
    assert site.decisions_path == DEFAULT_SITE_CONFIG.parent / "organization_decisions.csv"
    assert site.cost_groups and site.customer_segments
    assert site.waivers_path == DEFAULT_SITE_CONFIG.parent / "waivers.yaml"


def test_the_runs_own_exceptions_and_a_waiver_file_beside_the_warehouse(tmp_path):
    site = Site.read(allow_missing_sources=["crm"], allow_shrink=True, warehouse_waivers=tmp_path / "waivers.yaml")
    assert site.missing_sources_allowed == {"crm"} and site.shrink_limit is None
    assert site.waivers_path == tmp_path / "waivers.yaml"  # the run has no site configuration of its own
    own = tmp_path / "site.yaml"
    own.write_text("waivers: mine.yaml\n", encoding="utf-8")
    assert Site.read(own, warehouse_waivers=tmp_path / "waivers.yaml").waivers_path == tmp_path / "mine.yaml"


@pytest.mark.parametrize(
    "text, words",
    [
        (
            "quality:\n  max_quarantine_share: 30\n",
            "line 2: the setting quality.max_quarantine_share must be a number from 0 to 1 (it is 30)",
        ),
        (
            "reports:\n  data_docs: maybe\n",
            "line 2: the setting reports.data_docs must be true or false (it is 'maybe')",
        ),
        ("student_admin:\n  delimiter: ';;'\n", "line 2: the setting student_admin.delimiter must be one character"),
        (
            "# a comment\nquality:\n  min_rows: 20\n  max_quarantine_shar: 0.2\n",
            "line 4: the setting quality.max_quarantine_shar must be one of the known settings",
        ),
        ("relese:\n  min_rows: 5\n", "line 1: the setting relese must be one of the known settings"),
        ("release: 5\n", "line 1: the setting release must be a group of settings"),
        ("quality:\n  min_rows: [1\n", "line 3: the setting file must be valid YAML"),
        ("- quality\n", "line 1: the setting file must be a list of settings"),
        (
            "student_admin:\n  headers:\n    student:\n      student_number: Opisk.nro\n",
            "line 3: the setting student_admin.headers.student must be one of the student_admin tables (students, ",
        ),
        (
            "crm:\n  delimiter: ','\n  headers:\n    contacts:\n      email: Sähköposti\n      emial: Email\n",
            "line 6: the setting crm.headers.contacts.emial must be one of the columns of contacts (contact_id, ",
        ),
    ],
)
def test_a_setting_that_cannot_be_used_is_named_with_its_file_and_line(tmp_path, text, words):
    path = tmp_path / "site.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SiteConfigError) as err:
        Site.read(path)
    assert str(err.value).startswith(f"{path}, {words}")


def test_a_linked_file_that_is_missing_is_named(tmp_path):
    path = tmp_path / "site.yaml"
    path.write_text("student_years:\n  cost_groups: nowhere.yaml\n", encoding="utf-8")
    with pytest.raises(SiteConfigError, match="nowhere.yaml"):
        _ = Site.read(path).cost_groups


def test_the_resource_reads_the_configuration_once_per_run(tmp_path):
    path = tmp_path / "site.yaml"
    path.write_text("quality:\n  min_rows: 7\n", encoding="utf-8")
    area = LandingArea(path=str(tmp_path), site_config=str(path))
    first = area.open()
    path.write_text("quality:\n  min_rows: 9\n", encoding="utf-8")  # changed while the run goes on: not seen
    assert area.open() is first and first.site.quality["min_rows"] == 7


def test_a_run_with_an_unusable_site_configuration_stops_before_it_starts(tmp_path):
    write_landing(tmp_path / "landing", valid_rows())
    config = tmp_path / "site.yaml"
    config.write_text("limits:\n  max_file_mb: -1\n", encoding="utf-8")
    result = run_cli(
        "run",
        "--landing",
        str(tmp_path / "landing"),
        "--warehouse",
        str(tmp_path / "wh"),
        "--site-config",
        str(config),
        key=TEST_KEY,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"tiedolla: {config}, line 2: the setting limits.max_file_mb must be a number of at least 0 (it is -1)"
    )
    assert not (tmp_path / "wh" / "published").exists()
