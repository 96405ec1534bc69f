"""The interactive app: ``bayes app`` (or ``make app``) serves it with Streamlit on localhost.

One module per page, each a thin Streamlit script: every number it shows comes from a library
function that a test also calls (the domains' own functions, :mod:`bayes.charts` for the
Plotly charts, :mod:`bayes.app.data` for the demo data and uploads). The pages run on the
demo's generated data by default (generated on first use at quick sizes and cached under
``BAYES_APP_DATA``, default ``~/.cache/bayes/app``) and on the user's files by upload.

Adding a page: write
``bayes/app/<domain>.py`` as a Streamlit script calling that domain's library, add one
:class:`Page` line to :data:`PAGES`, and one ``AppTest`` test in ``tests/test_app.py``.
This package imports nothing heavy: Streamlit is imported by the pages only (and by
:mod:`bayes.app.ui`, what every page does the same way, e.g. stopping on a bad input).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

__all__ = ["APP_DIR", "PAGES", "Page", "available_pages", "page_path"]

APP_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Page:
    """One page: its script (in this folder), title, icon, URL path and the package it needs."""

    script: str
    title: str
    icon: str
    url: str
    needs: str | None = None


#: The pages in navigation order (``needs`` keeps a page out of the navigation while its
#: domain package is missing).
PAGES: tuple[Page, ...] = (
    Page("home.py", "Overview", ":material/home:", "overview"),
    Page("video.py", "Video decision", ":material/smart_display:", "video", "bayes.video"),
    Page("signup.py", "Signup audiences", ":material/mail:", "signup", "bayes.signup"),
    Page("ltv.py", "Customer LTV", ":material/savings:", "ltv", "bayes.growth"),
    Page("experiments.py", "Experiments", ":material/science:", "experiments", "bayes.experiments"),
    Page("uplift.py", "Uplift targeting", ":material/ads_click:", "uplift", "bayes.uplift"),
)


def page_path(page: Page) -> Path:
    return APP_DIR / page.script


def available_pages() -> list[Page]:
    """The pages whose script exists and whose domain package is installed."""
    return [
        p
        for p in PAGES
        if page_path(p).is_file() and (p.needs is None or importlib.util.find_spec(p.needs))
    ]
