"""Render the view model with Jinja2: Markdown for tickets, one self-contained HTML page."""

from __future__ import annotations

import re
from pathlib import Path

from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PackageLoader,
    StrictUndefined,
    select_autoescape,
)

from diagnose.diagnosis import Diagnosis
from diagnose.evidence import Evidence
from diagnose.reports.view import build_view

MARKDOWN_SPECIAL = {
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    "|": "\\|",
    "*": "\\*",
    "_": "\\_",
    "`": "\\`",
    "[": "\\[",
    "]": "\\]",
}


def environment(templates: Path | None = None) -> Environment:
    """Templates from ``templates`` first (a user's own), then the bundled ones."""
    loaders = [FileSystemLoader(str(templates))] if templates else []
    env = Environment(
        loader=ChoiceLoader([*loaders, PackageLoader("diagnose.reports", "templates")]),
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2")),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md"] = md_inline
    env.filters["fence"] = fence
    return env


def render_markdown(diagnosis: Diagnosis, evidence: Evidence, templates: Path | None = None) -> str:
    return (
        environment(templates)
        .get_template("report.md.j2")
        .render(view=build_view(diagnosis, evidence))
    )


def render_html(diagnosis: Diagnosis, evidence: Evidence, templates: Path | None = None) -> str:
    """One self-contained page: styles inline, inline SVG plots, no script, no external resource."""
    view = build_view(diagnosis, evidence, plots=True)
    return environment(templates).get_template("report.html.j2").render(view=view)


def md_inline(text: object) -> str:
    """Text from the script made inert in Markdown: no HTML, no emphasis, no table breaks."""
    flat = re.sub(r"\s+", " ", str(text)).strip()
    return "".join(MARKDOWN_SPECIAL.get(ch, ch) for ch in flat)


def fence(text: object, language: str = "") -> str:
    """A fenced code block that the text cannot close early."""
    body = str(text).rstrip("\n")
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{language}\n{body}\n{ticks}"
