"""A small static HTML report: sections of text, metrics, tables and figures.

Each domain contributes a :class:`Section` (see :mod:`bayes.demo`); :class:`Report` writes
``index.html`` atomically, with figures under ``figures/`` and tables under ``tables/``.
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from bayes.io import write_table, write_text


@dataclass
class Section:
    """One domain's part of the report.

    ``headline`` is the domain's decision or headline number in one sentence, with its
    uncertainty ("Keep video integrated: +57k Core users [−2k, +120k], P(standalone better)
    0.19"); the report opens with the headlines of every section. ``reference`` names the spec
    section in small print (e.g. "seed 000 §11").
    """

    title: str
    intro: str = ""
    blocks: list[str] = field(default_factory=list)
    headline: str = ""
    reference: str = ""

    def text(self, paragraph: str) -> Section:
        """Add a paragraph (plain text, escaped)."""
        self.blocks.append(f"<p>{html.escape(paragraph)}</p>")
        return self

    def html(self, raw: str) -> Section:
        self.blocks.append(raw)
        return self

    def metrics(self, values: dict, caption: str = "") -> Section:
        rows = "".join(
            f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(_fmt(v))}</td></tr>"
            for k, v in values.items()
        )
        cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
        self.blocks.append(f'<table class="metrics">{cap}{rows}</table>')
        return self

    def table(
        self,
        df: pd.DataFrame,
        caption: str = "",
        csv_path: str | os.PathLike | None = None,
        report_dir: str | os.PathLike | None = None,
        float_format: str = "{:,.4g}",
    ) -> Section:
        """Add a table; if ``csv_path`` is given also write it as CSV and link it."""
        link = ""
        if csv_path is not None:
            write_table(df, csv_path, index=False)
            rel = os.path.relpath(csv_path, report_dir) if report_dir else Path(csv_path).name
            link = f' <a href="{html.escape(str(rel))}">(csv)</a>'
        body = df.to_html(
            index=False, border=0, classes="data", float_format=lambda x: float_format.format(x)
        )
        cap = f"<p class='caption'>{html.escape(caption)}{link}</p>" if caption or link else ""
        self.blocks.append(cap + body)
        return self

    def figure(
        self,
        path: str | os.PathLike,
        caption: str = "",
        report_dir: str | os.PathLike | None = None,
    ) -> Section:
        rel = os.path.relpath(path, report_dir) if report_dir else Path(path).name
        self.blocks.append(
            f'<figure><img src="{html.escape(str(rel))}" alt="{html.escape(caption)}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        )
        return self

    def render(self) -> str:
        anchor = _slug(self.title)
        intro = f"<p class='intro'>{html.escape(self.intro)}</p>" if self.intro else ""
        return (
            f'<section id="{anchor}"><h2>{html.escape(self.title)}</h2>{intro}'
            + "\n".join(self.blocks)
            + "</section>"
        )


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:,.4g}"
    return str(v)


def _slug(title: str) -> str:
    return "".join(c.lower() if c.isalnum() else "-" for c in title).strip("-")


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:1100px;margin:2em auto;
padding:0 1em;color:#222;line-height:1.45}
h1{border-bottom:2px solid #444}h2{margin-top:2em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:0.6em 0;font-size:0.9em}
td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}th{background:#f4f4f4}
table.metrics th{text-align:left}
figure{margin:1em 0}img{max-width:100%;border:1px solid #eee}
figcaption,.caption{color:#555;font-size:0.9em}.intro{font-style:italic}
nav a{margin-right:1em}
"""


class Report:
    def __init__(self, outdir: str | os.PathLike, title: str = "Bayesian workbench report"):
        self.outdir = Path(outdir)
        self.title = title
        self.sections: list[Section] = []

    def add(self, section: Section) -> None:
        self.sections.append(section)

    def render(self) -> str:
        nav = " ".join(
            f'<a href="#{_slug(s.title)}">{html.escape(s.title)}</a>' for s in self.sections
        )
        body = "\n".join(s.render() for s in self.sections)
        return (
            f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(self.title)}"
            f"</title><style>{_CSS}</style></head><body><h1>{html.escape(self.title)}</h1>"
            f"<nav>{nav}</nav>{body}</body></html>\n"
        )

    def write(self) -> Path:
        return write_text(self.render(), self.outdir / "index.html")
