"""The report: one self-contained HTML page that a decision maker reads first.

Each domain contributes a :class:`Section` — its result, typed: a one-sentence ``headline``
with the number and its uncertainty, the ``summary`` numbers, the ``tables`` (DataFrames),
``figures`` and ``files`` it produced — and the blocks that render it (see :mod:`bayes.demo`).
:class:`Report` writes ``index.html``:

* it **opens with a summary**: every section's headline, linking to the section, then the
  **run record** (date, package version, git commit where available, seeds, data hashes);
* **numbers for people** (:mod:`bayes.formatting`): thousands separators, no scientific
  notation, one number of decimals per column, ``—`` for a missing value with the reason
  stated under the table;
* **plain headings**: a spec reference such as "(seed 000 §11)" at the end of a title moves
  into small print under it;
* **one file**: figures are embedded as data URIs, interactive Plotly charts carry plotly.js
  inline (once), so the page can be sent alone; CSV links point to the tables beside it;
* **readable from phone width to a wide screen**: tables scroll inside their own box.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import mimetypes
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from bayes.formatting import DASH, fmt_number, format_frame
from bayes.io import write_table, write_text

__all__ = ["Report", "Section", "embed_image", "git_commit", "render_table", "split_reference"]

#: a trailing spec reference in a title: "(seed 003)", "(seed 000 §11)", "(seed 000 Parts A-B)"
_REF = re.compile(r"\s*\((seeds? \d{3}[^()]*)\)\s*$", re.IGNORECASE)


def split_reference(title: str) -> tuple[str, str]:
    """``"Video: updating after a pilot (seed 000 §11)"`` → ``("Video: updating after a
    pilot", "seed 000 §11")``; titles without a trailing reference come back unchanged."""
    m = _REF.search(title)
    if not m:
        return title, ""
    return title[: m.start()].rstrip(" :—-"), m.group(1)


def embed_image(path: str | os.PathLike) -> str:
    """A ``data:`` URI holding the image file's bytes (PNG, JPEG, SVG...)."""
    path = Path(path)
    mime = mimetypes.guess_type(path.name)[0] or "image/png"
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f"data:{mime};base64,{data}"


def render_table(
    df: pd.DataFrame,
    *,
    decimals: dict[str, int] | None = None,
    units: dict[str, str] | None = None,
    prefixes: dict[str, str] | None = None,
    na_reason: str | None = None,
) -> str:
    """A DataFrame as an HTML table formatted for people, in a box that scrolls on narrow
    screens; missing cells read ``—`` and the reason is stated under the table."""
    t = format_frame(df, decimals=decimals, units=units, prefixes=prefixes, na_reason=na_reason)
    esc = html.escape
    head = "".join(
        f'<th class="{"num" if n else "txt"}">{esc(c)}</th>'
        for c, n in zip(t.columns, t.numeric, strict=True)
    )
    body = []
    for cells, miss in zip(t.rows, t.missing, strict=True):
        tds = []
        for text, m, n in zip(cells, miss, t.numeric, strict=True):
            if m:
                tds.append(f'<td class="na" title="{esc(t.na_reason)}">{DASH}</td>')
            else:
                tds.append(f'<td class="{"num" if n else "txt"}">{esc(text)}</td>')
        body.append("<tr>" + "".join(tds) + "</tr>")
    note = f'<p class="na-note">{DASH} {esc(t.na_reason)}</p>' if t.any_missing else ""
    return (
        '<div class="table-wrap"><table class="data"><thead><tr>'
        + head
        + "</tr></thead><tbody>"
        + "".join(body)
        + "</tbody></table></div>"
        + note
    )


_FILE_SUFFIXES = {".csv", ".png", ".svg", ".jpg", ".jpeg", ".nc", ".json", ".parquet", ".html"}


def _name(source, fallback: str) -> str:
    """A table's or figure's name: the file's stem, else the caption's slug."""
    if source is None or str(source) == "":
        return fallback
    path = Path(str(source))
    text = path.stem if path.suffix.lower() in _FILE_SUFFIXES else str(source)
    return _slug(text)[:60].replace("-", "_") or fallback


@dataclass
class Section:
    """One domain's result and its part of the report.

    The result, typed (what :mod:`bayes.demo`, the tracking store and later sections read):

    ``headline``
        The domain's decision or headline number in one sentence, with its uncertainty
        ("Keep video integrated: +57k Core users [−2k, +120k], P(standalone better) 0.19");
        the report opens with the headlines of every section.
    ``summary``
        Named numbers (every :meth:`metrics` call adds to it; set more directly).
    ``tables``, ``figures``, ``files``
        The DataFrames shown (by CSV stem or caption), the figure files and other files
        (posteriors, data) by name.
    ``reference``
        The spec section, in small print (e.g. "seed 000 §11"); a trailing "(seed …)" in the
        title is moved here.
    """

    title: str
    intro: str = ""
    blocks: list[str] = field(default_factory=list)
    headline: str = ""
    reference: str = ""
    key: str = ""
    summary: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    figures: dict[str, Path] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)

    # ------------------------------------------------------------------ content
    def text(self, paragraph: str) -> Section:
        """Add a paragraph (plain text, escaped)."""
        self.blocks.append(f"<p>{html.escape(paragraph)}</p>")
        return self

    def html(self, raw: str) -> Section:
        self.blocks.append(raw)
        return self

    def metrics(self, values: dict, caption: str = "") -> Section:
        """A two-column table of named values; the values also go into :attr:`summary`."""
        self.summary.update(values)
        rows = "".join(
            f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(_fmt(v))}</td></tr>"
            for k, v in values.items()
        )
        cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
        self.blocks.append(
            f'<div class="table-wrap"><table class="metrics">{cap}{rows}</table></div>'
        )
        return self

    def table(
        self,
        df: pd.DataFrame,
        caption: str = "",
        csv_path: str | os.PathLike | None = None,
        report_dir: str | os.PathLike | None = None,
        float_format: str | None = None,
        *,
        name: str | None = None,
        decimals: dict[str, int] | None = None,
        units: dict[str, str] | None = None,
        prefixes: dict[str, str] | None = None,
        na_reason: str | None = None,
    ) -> Section:
        """Add a table formatted for people (:func:`render_table`); with ``csv_path`` also
        write it as CSV (full precision) and link it. The DataFrame is kept in
        :attr:`tables` under ``name`` (default: the CSV's stem, else the caption's slug).

        ``float_format`` is accepted for compatibility and ignored: numbers follow
        :mod:`bayes.formatting` (fix a column's decimals with ``decimals``).
        """
        link = ""
        key = name or _name(csv_path or caption, f"table_{len(self.tables) + 1}")
        if csv_path is not None:
            write_table(df, csv_path, index=False)
            rel = os.path.relpath(csv_path, report_dir) if report_dir else Path(csv_path).name
            link = f' <a href="{html.escape(Path(rel).as_posix())}" download>(csv)</a>'
            self.files[key] = Path(csv_path)
        self.tables[key] = df
        cap = f"<p class='caption'>{html.escape(caption)}{link}</p>" if caption or link else ""
        self.blocks.append(
            cap
            + render_table(
                df, decimals=decimals, units=units, prefixes=prefixes, na_reason=na_reason
            )
        )
        return self

    def figure(
        self,
        path: str | os.PathLike,
        caption: str = "",
        report_dir: str | os.PathLike | None = None,
        *,
        name: str | None = None,
    ) -> Section:
        """Add an image file, embedded in the page as a data URI (``report_dir`` is accepted
        for compatibility: the page no longer links to the file)."""
        path = Path(path)
        self.figures[name or _name(path, f"figure_{len(self.figures) + 1}")] = path
        self.blocks.append(
            f'<figure><img src="{embed_image(path)}" alt="{html.escape(caption)}" '
            f'loading="lazy"><figcaption>{html.escape(caption)}</figcaption></figure>'
        )
        return self

    def plotly(self, fig, caption: str = "", *, name: str | None = None) -> Section:
        """Add an interactive Plotly chart (plotly.js is included once per page)."""
        div_id = f"plot-{_slug(self.key or self.title)}-{len(self.blocks)}"
        body = fig.to_html(
            full_html=False,
            include_plotlyjs=False,
            div_id=div_id,
            config={"responsive": True, "displaylogo": False},
        )
        self.blocks.append(
            f'<figure class="plotly">{body}<figcaption>{html.escape(caption)}</figcaption></figure>'
        )
        return self

    def file(self, name: str, path: str | os.PathLike) -> Section:
        """Register a file the section wrote (a posterior, a data file) under ``name``."""
        self.files[name] = Path(path)
        return self

    # ------------------------------------------------------------------ rendering
    @property
    def anchor(self) -> str:
        return _slug(self.key or self.title)

    @property
    def heading(self) -> tuple[str, str]:
        """(plain title, spec reference)."""
        title, ref = split_reference(self.title)
        return title, self.reference or ref

    @property
    def uses_plotly(self) -> bool:
        return any(b.startswith('<figure class="plotly">') for b in self.blocks)

    def render(self) -> str:
        title, ref = self.heading
        ref_html = f'<p class="ref">{html.escape(ref)}</p>' if ref else ""
        intro = f"<p class='intro'>{html.escape(self.intro)}</p>" if self.intro else ""
        head = f'<p class="headline">{html.escape(self.headline)}</p>' if self.headline else ""
        return (
            f'<section id="{self.anchor}" class="domain"><h2>{html.escape(title)}</h2>{ref_html}'
            f"{head}{intro}" + "\n".join(self.blocks) + "</section>"
        )


def _fmt(v) -> str:
    return fmt_number(v)


def _slug(title: str) -> str:
    s = "".join(c.lower() if c.isalnum() else "-" for c in title)
    return re.sub("-+", "-", s).strip("-")


def git_commit(path: str | os.PathLike | None = None) -> str | None:
    """The git commit of the checkout holding ``path`` (default: this package), with
    ``+dirty`` when it has uncommitted changes; ``None`` outside a git checkout."""
    import subprocess

    where = Path(path) if path else Path(__file__).resolve().parent
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, timeout=10
        )
        if sha.returncode != 0:
            return None
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=where,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = sha.stdout.strip()
    return commit + ("+dirty" if dirty.returncode == 0 and dirty.stdout.strip() else "")


_CSS = """
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:1100px;
margin:0 auto;padding:1em;color:#1d2430;line-height:1.5;background:#fff}
h1{font-size:1.7em;margin:.3em 0 .1em}h2{margin-top:2.2em;border-bottom:1px solid #ccd;
padding-bottom:.2em}
.sub{color:#556;margin:0 0 1em}
.ref{font-size:.8em;color:#667;margin:-.4em 0 .8em}
.headline{font-size:1.08em;font-weight:600;background:#f3f6fb;border-left:4px solid #3563b5;
padding:.5em .8em;margin:.6em 0}
#summary ol{padding-left:1.2em}#summary li{margin:.45em 0}
#summary .missing{color:#8a5a00}
.table-wrap{overflow:auto;width:fit-content;max-width:100%;max-height:40em;margin:.5em 0 .8em;
border:1px solid #e3e6ec;border-radius:4px}
table{border-collapse:collapse;font-size:.88em}
td,th{border-bottom:1px solid #e8eaef;padding:4px 10px;white-space:nowrap}
thead th{position:sticky;top:0;background:#f4f6f9;border-bottom:2px solid #d5d9e0}
th.num,td.num{text-align:right;font-variant-numeric:tabular-nums}
th.txt,td.txt{text-align:left}td.na{text-align:center;color:#889}
table.metrics th{text-align:left;background:#f8f9fb;font-weight:500}
table.metrics td{text-align:right;font-variant-numeric:tabular-nums}
table.metrics caption{caption-side:top;text-align:left;color:#556;padding:.3em 10px}
.na-note{font-size:.8em;color:#667;margin-top:-.5em}
figure{margin:1em 0}img{max-width:100%;height:auto;border:1px solid #eee}
figure.plotly{width:100%}
figcaption,.caption{color:#4a5160;font-size:.9em}.intro{color:#333}
nav{position:sticky;top:0;background:#fff;padding:.4em 0;border-bottom:1px solid #eee;
overflow-x:auto;white-space:nowrap;z-index:2}nav a{margin-right:1em;color:#3563b5}
details.run{background:#fafbfc;border:1px solid #e3e6ec;border-radius:4px;padding:.4em .8em}
details.run summary{cursor:pointer;font-weight:600}
code{font-size:.9em;word-break:break-all}
@media (max-width:600px){body{padding:.5em;font-size:15px}h1{font-size:1.35em}
table{font-size:.8em}}
"""


class Report:
    """The page: a title, the summary of every section's headline, the run record, then the
    sections."""

    def __init__(
        self,
        outdir: str | os.PathLike,
        title: str = "Bayesian workbench report",
        *,
        run_record: dict | None = None,
    ):
        self.outdir = Path(outdir)
        self.title = title
        self.sections: list[Section] = []
        self.run_record: dict = dict(run_record or {})

    def add(self, section: Section) -> None:
        self.sections.append(section)

    # ------------------------------------------------------------------ parts
    def render_summary(self) -> str:
        items = []
        for s in self.sections:
            title, _ = s.heading
            link = f'<a href="#{s.anchor}">{html.escape(title)}</a>'
            if s.headline:
                items.append(f"<li>{link}: {html.escape(s.headline)}</li>")
            else:
                items.append(
                    f'<li class="missing">{link}: {DASH} no headline (this section does not '
                    "state one yet; read the section)</li>"
                )
        return '<section id="summary"><h2>Summary</h2><ol>' + "".join(items) + "</ol></section>"

    def render_run_record(self) -> str:
        r = dict(self.run_record)
        r.setdefault("created", _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"))
        if "package_version" not in r:
            from bayes import __version__

            r["package_version"] = __version__
        if "git_commit" not in r:
            r["git_commit"] = git_commit() or "not a git checkout"
        rows = []
        for k, v in r.items():
            label = k.replace("_", " ")
            if isinstance(v, dict):
                inner = "".join(
                    f"<li><code>{html.escape(str(kk))}</code>: {html.escape(_fmt(vv))}</li>"
                    for kk, vv in v.items()
                )
                value = f"<ul>{inner}</ul>" if inner else DASH
            else:
                value = html.escape(_fmt(v))
            rows.append(f"<tr><th>{html.escape(label)}</th><td class='txt'>{value}</td></tr>")
        return (
            '<details class="run" id="run-record"><summary>Run record</summary>'
            '<div class="table-wrap"><table class="metrics">'
            + "".join(rows)
            + "</table></div></details>"
        )

    def render(self) -> str:
        nav = " ".join(
            f'<a href="#{s.anchor}">{html.escape(s.heading[0])}</a>' for s in self.sections
        )
        body = "\n".join(s.render() for s in self.sections)
        plotly_js = ""
        if any(s.uses_plotly for s in self.sections):
            from plotly.offline import get_plotlyjs

            plotly_js = f"<script>{get_plotlyjs()}</script>"
        created = self.run_record.get("created") or _dt.datetime.now(_dt.UTC).strftime(
            "%Y-%m-%d %H:%M UTC"
        )
        self.run_record.setdefault("created", created)
        return (
            "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{html.escape(self.title)}</title><style>{_CSS}</style>{plotly_js}"
            f"</head><body><header><h1>{html.escape(self.title)}</h1>"
            f"<p class='sub'>{html.escape(created)}</p></header>"
            f'<nav><a href="#summary">Summary</a> {nav}</nav>'
            + self.render_summary()
            + self.render_run_record()
            + body
            + "</body></html>\n"
        )

    def write(self) -> Path:
        return write_text(self.render(), self.outdir / "index.html")
