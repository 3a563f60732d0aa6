"""Write report files: atomically, only in the output folder, never over a file we did not write."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from diagnose.child import atomic
from diagnose.diagnosis import Diagnosis
from diagnose.errors import UsageError
from diagnose.evidence import Evidence
from diagnose.reports.render import render_html, render_markdown

FILES = {"md": "report.md", "html": "report.html", "json": "report.json"}
EVIDENCE_FILE = "evidence.json"
MARKER = "nn-diagnose"


def check_formats(formats: Sequence[str]) -> None:
    unknown = [f for f in formats if f not in FILES]
    if unknown or not formats:
        raise UsageError(
            f"unknown format '{unknown[0] if unknown else ''}' (choose from {', '.join(FILES)})"
        )


def check_output(out: Path, formats: Sequence[str]) -> None:
    """Refuse, before anything runs, an output folder where we would replace someone else's file."""
    _prepare(out, [EVIDENCE_FILE, *(FILES[f] for f in formats)], create=False)


def write_reports(
    diagnosis: Diagnosis,
    evidence: Evidence,
    out: Path,
    formats: Sequence[str],
    templates: Path | None = None,
) -> dict[str, Path]:
    """Render the requested formats plus evidence.json into ``out``; return the paths written."""
    contents = {EVIDENCE_FILE: evidence.to_json()}
    for fmt in formats:
        if fmt == "json":
            contents[FILES[fmt]] = diagnosis.model_dump_json(indent=1)
        elif fmt == "md":
            contents[FILES[fmt]] = render_markdown(diagnosis, evidence, templates)
        else:
            contents[FILES[fmt]] = render_html(diagnosis, evidence, templates)
    _prepare(out, list(contents))
    written = {}
    for name, text in contents.items():
        written[name] = atomic.write_text(out / name, text)
    return written


def _prepare(out: Path, names: list[str], create: bool = True) -> None:
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out}: exists and is not a folder")
    if create:
        out.mkdir(parents=True, exist_ok=True)
    for name in names:
        path = out / name
        if path.exists() and not written_by_us(path):
            raise UsageError(
                f"{path}: exists and was not written by diagnose; choose another output folder (-o)"
            )


def written_by_us(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            head = handle.read(4096)
    except OSError:
        return False
    return MARKER.encode() in head
