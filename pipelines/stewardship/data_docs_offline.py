"""Data Docs that work offline: GX's pages drawn from our templates first, their scripts and styles beside them.

GX's own templates load jQuery, Bootstrap, bootstrap-table, Font Awesome and Vega from CDNs, so a steward's
browser without the internet (or a locked-down one) shows blank pages. The views here put
``data_docs_views/`` in front of GX's templates (GX's own ``custom_views_directory`` is searched after its
templates, so it can add templates but not replace one): the page heads load ``static/vendor/`` and the index's
tables are plain HTML (bootstrap-table is in no pinned package). ``copy_vendor_assets`` fills ``static/vendor/``
from the pinned XStatic packages (jQuery 3.7.1 as GX asks, Bootstrap 4.5 for GX's 4.3, Font Awesome 6.2).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from great_expectations.render.view import DefaultJinjaIndexPageView, DefaultJinjaPageView
from jinja2 import ChoiceLoader, FileSystemLoader

VIEWS = Path(__file__).with_name("data_docs_views")


class _OfflineTemplates:
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.env.loader = ChoiceLoader([FileSystemLoader(VIEWS), self.env.loader])


class OfflinePageView(_OfflineTemplates, DefaultJinjaPageView):
    """An expectation suite's or a validation's page."""


class OfflineIndexPageView(_OfflineTemplates, DefaultJinjaIndexPageView):
    """The site's index."""


def site_config(base_directory: Path) -> dict:
    """The SiteBuilder configuration that draws every page with the offline views."""
    view = {"module_name": __name__, "class_name": OfflinePageView.__name__}
    return {
        "class_name": "SiteBuilder",
        "site_index_builder": {
            "class_name": "DefaultSiteIndexBuilder",
            "view": {"module_name": __name__, "class_name": OfflineIndexPageView.__name__},
        },
        "site_section_builders": {"expectations": {"view": view}, "validations": {"view": view}, "profiling": "None"},
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(base_directory)},
    }


def copy_vendor_assets(site: Path) -> None:
    """The scripts, styles and fonts the offline pages load, into ``<site>/static/vendor/``."""
    import xstatic.pkg.bootstrap
    import xstatic.pkg.font_awesome
    import xstatic.pkg.jquery

    vendor = site / "static" / "vendor"
    jquery = Path(xstatic.pkg.jquery.BASE_DIR)
    bootstrap = Path(xstatic.pkg.bootstrap.BASE_DIR)
    font_awesome = Path(xstatic.pkg.font_awesome.BASE_DIR)
    for source, target in (
        (jquery / "jquery.min.js", "jquery/jquery.min.js"),
        (bootstrap / "css" / "bootstrap.min.css", "bootstrap/css/bootstrap.min.css"),
        (bootstrap / "js" / "bootstrap.bundle.min.js", "bootstrap/js/bootstrap.bundle.min.js"),
        (font_awesome / "css" / "all.min.css", "font-awesome/css/all.min.css"),
        (font_awesome / "LICENSE.txt", "font-awesome/LICENSE.txt"),
    ):
        (vendor / target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, vendor / target)
    shutil.copytree(font_awesome / "webfonts", vendor / "font-awesome" / "webfonts", dirs_exist_ok=True)
