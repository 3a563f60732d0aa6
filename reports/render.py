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
from markupsafe import Markup, escape

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
CODE_SPAN = re.compile(r"`([^`]+)`")  # `inline code` in our own prose (notes)


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
    env.filters["md_prose"] = md_prose
    env.filters["html_prose"] = html_prose
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
    return _inert(_flat(text))


def md_prose(text: object) -> str:
    """Our own prose (a note) in Markdown: its `inline code` stays code (which Markdown shows
    as written), everything else is made inert as ``md_inline`` does, since a note may quote
    the script (a notebook's shell command, a path)."""
    parts = CODE_SPAN.split(_flat(text))  # text, code, text, code, ..., text
    return "".join(f"`{part}`" if odd else _inert(part) for odd, part in _alternate(parts))


def html_prose(text: object) -> Markup:
    """Our own prose in HTML: escaped, its `inline code` as ``<code>``."""
    parts = CODE_SPAN.split(str(text))
    return Markup("").join(
        Markup("<code>%s</code>") % part if odd else escape(part) for odd, part in _alternate(parts)
    )


def _alternate(parts: list[str]) -> list[tuple[bool, str]]:
    return [(index % 2 == 1, part) for index, part in enumerate(parts)]


def _flat(text: object) -> str:
    return re.sub(r"\s+", " ", str(text)).strip()


def _inert(text: str) -> str:
    return "".join(MARKDOWN_SPECIAL.get(ch, ch) for ch in text)


def fence(text: object, language: str = "") -> str:
    """A fenced code block that the text cannot close early."""
    body = str(text).rstrip("\n")
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{language}\n{body}\n{ticks}"
