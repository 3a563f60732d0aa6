"""Reports: ticket-safe Markdown, self-contained escaped HTML with inline SVG plots, sparklines."""

from __future__ import annotations

import html.parser
import json
import math
import re
from pathlib import Path

import pytest
from conftest import SCRIPTS, ZOO
from markdown_it import MarkdownIt
from markupsafe import escape

from diagnose.cli.main import main
from diagnose.diagnosis import Diagnosis
from diagnose.evidence import Evidence, ObservedRun, RunInfo, ScenarioRun
from diagnose.probes.sections import LRRangeSection
from diagnose.reports.figure import thin
from diagnose.reports.plots import build_plots
from diagnose.reports.render import (
    fence,
    html_prose,
    md_inline,
    md_prose,
    render_html,
    render_markdown,
)
from diagnose.reports.view import sparkline
from diagnose.rules.judge import judge


@pytest.fixture(scope="module")
def hostile(observed, rule_book):
    evidence = observed(SCRIPTS / "prints_html.py")
    return judge(evidence, rule_book), evidence


def html_blocks(markdown: str) -> list[str]:
    tokens = MarkdownIt("commonmark").enable("table").parse(markdown)
    found = [t.content for t in tokens if t.type == "html_block"]
    for token in tokens:
        found += [c.content for c in token.children or [] if c.type == "html_inline"]
    return found


def test_markdown_holds_no_raw_html_but_details(hostile):
    markdown = render_markdown(*hostile)
    tags = {
        tag.lower()
        for block in html_blocks(markdown)
        for tag in re.findall(r"</?\s*([a-zA-Z0-9]+)", block)
    }
    assert tags == {"details", "summary"}


def test_markdown_renders_the_verdict_and_the_exception(hostile):
    markdown = render_markdown(*hostile)
    rendered = MarkdownIt("commonmark").enable("table").render(markdown)
    assert "The script crashed" in rendered
    assert "&lt;img src=x onerror=alert(2)&gt;" in rendered
    assert "<img" not in rendered


class _Collector(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.append(tag)


def test_html_escapes_everything_from_the_script(hostile):
    page = render_html(*hostile)
    collector = _Collector()
    collector.feed(page)
    assert (
        "script" not in collector.tags and "img" not in collector.tags and "b" not in collector.tags
    )
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "http" not in page.split("<body>")[0]  # no external resources


def test_md_inline_and_fence_neutralise_markup():
    assert md_inline("a|b <i>*x*</i>\nnext") == "a\\|b &lt;i&gt;\\*x\\*&lt;/i&gt; next"
    block = fence("x = '```'\n", "python")
    assert block.startswith("````python\n") and block.endswith("\n````")


def test_notes_keep_their_inline_code_and_nothing_else():
    """A note is our prose quoting the script (a notebook's shell command): its `inline code`
    renders as code in report.md (its backticks were escaped, showing as backticks) and in
    report.html; the rest stays inert."""
    note = "Cell 2, line 1: `!pip install x<b>|y` was not run: *not*  <i>emphasis</i>; `a` b"
    rendered = MarkdownIt("commonmark").render(f"- {md_prose(note)}\n")
    assert "<code>!pip install x&lt;b&gt;|y</code> was not run" in rendered
    assert "<code>a</code> b" in rendered and "`" not in rendered
    assert "<em>" not in rendered and "<i>" not in rendered
    page = str(html_prose(note))
    assert page.startswith("Cell 2, line 1: <code>!pip install x&lt;b&gt;|y</code> was not run")
    assert page.count("<code>") == 2 and "<i>" not in page


def test_sparkline_marks_nonfinite_and_uses_log_scale():
    line = sparkline([1000.0, 100.0, 10.0, 1.0, float("nan")])
    assert line == "█▅▃▁×"
    assert sparkline([]) == ""


# -- a real diagnosis of a zoo case with image inputs and validation passes, shared by these tests
RICH_CASE = "double_normalization.py"  # images, validation passes with labels, a confirming replay
RICH_PLOTS = {
    "plot-loss",
    "plot-grad-flow",
    "plot-activations",
    "plot-init",
    "plot-update-ratio",
    "plot-data",
    "plot-classes",
    "plot-samples",
    "plot-confusion",
}
_REPORTS: dict[str, Path] = {}


def cli_report(tmp_path_factory: pytest.TempPathFactory, script: Path, *options: str) -> Path:
    """The output folder of one ``diagnose`` CLI run, made once per session for the script."""
    key = f"{script}{options}"
    if key not in _REPORTS:
        out = tmp_path_factory.mktemp(script.stem)
        assert main([str(script), "-o", str(out), "-q", *options]) in (0, 1)
        _REPORTS[key] = out
    return _REPORTS[key]


@pytest.fixture(scope="module")
def rich(tmp_path_factory) -> Path:
    if not (ZOO / RICH_CASE).exists():
        pytest.skip("shared/zoo is not beside the repository")
    return cli_report(tmp_path_factory, ZOO / RICH_CASE)


def figure_ids(page: str) -> set[str]:
    return set(re.findall(r'<figure id="(plot-[a-z-]+)"', page))


def test_html_holds_every_plot_as_inline_svg(rich):
    page = (rich / "report.html").read_text()
    assert figure_ids(page) == RICH_PLOTS
    for plot_id in RICH_PLOTS:
        figure = page.split(f'<figure id="{plot_id}"', 1)[1].split("</figure>", 1)[0]
        assert "<svg" in figure and "</svg>" in figure, plot_id
    assert "left out after an internal error" not in page
    assert (rich / "report.html").stat().st_size < 1_000_000
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)  # self-contained


def test_html_shows_replays_and_the_confirming_numbers(rich):
    page = (rich / "report.html").read_text()
    report = json.loads((rich / "report.json").read_text())
    replays = page.split('id="replays"', 1)[1].split("</section>", 1)[0]
    for scenario in report["scenarios"]:
        assert f"<code>{escape(scenario['name'])}</code>" in replays
        assert (
            escape(scenario["chosen_because"]) in replays and escape(scenario["change"]) in replays
        )
    confirmation = report["causes"][0]["confirmation"]
    if (
        confirmation and confirmation["before"] is not None
    ):  # the replay ran (it may not, on a starved machine)
        cause = page.split('<article class="cause"', 2)[1]
        assert f'<span class="before">before {confirmation["before"]:.4g}</span>' in cause
        assert f'<span class="after">after {confirmation["after"]:.4g}</span>' in cause
    assert 'id="not-evaluated"' in page


def test_markdown_of_a_real_run_has_tables_sparklines_and_only_details_html(rich):
    markdown = (rich / "report.md").read_text()
    tags = {
        tag.lower()
        for block in html_blocks(markdown)
        for tag in re.findall(r"</?\s*([a-zA-Z0-9]+)", block)
    }
    assert tags == {"details", "summary"}
    tokens = MarkdownIt("commonmark").enable(["table", "strikethrough"]).parse(markdown)
    assert (
        sum(t.type == "table_open" for t in tokens) >= 4
    )  # causes, evidence, replays, details tables
    evidence = markdown.split("## Evidence", 1)[1].split("\n\n", 2)[1]
    assert "| Training loss |" in evidence and "| Validation loss |" in evidence
    assert re.search(r"`[▁▂▃▄▅▆▇█×]{8,}`", evidence)
    assert "![" not in markdown and "<img" not in markdown


def test_report_subcommand_rebuilds_the_same_report(rich, tmp_path):
    assert main(["report", str(rich / "evidence.json"), "-o", str(tmp_path), "-q"]) == 1
    assert (tmp_path / "report.md").read_text() == (rich / "report.md").read_text()
    assert json.loads((tmp_path / "report.json").read_text()) == json.loads(
        (rich / "report.json").read_text()
    )
    assert figure_ids((tmp_path / "report.html").read_text()) == RICH_PLOTS
    # byte for byte: the SVG ids are salted per plot, not random, and no date is written
    assert (tmp_path / "report.html").read_text() == (rich / "report.html").read_text()


# -- hostile names: what the script controls never becomes markup, in the plots too
HOSTILE_SCRIPT = """
import torch
print("<script>alert(1)</script>")
model = torch.nn.Sequential()
model.add_module("<img src=x onerror=alert(1)>", torch.nn.Linear(4, 8))
model.add_module("act", torch.nn.ReLU())
model.add_module("$x$ </svg><script>", torch.nn.Linear(8, 3))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for step in range(30):
    x, y = torch.randn(16, 4), torch.randint(0, 3, (16,))
    loss = torch.nn.functional.cross_entropy(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
raise RuntimeError("<img src=x onerror=alert(1)> went wrong")
"""


@pytest.fixture(scope="module")
def injected(tmp_path_factory) -> Path:
    script = tmp_path_factory.mktemp("hostile") / "hostile_train.py"
    script.write_text(HOSTILE_SCRIPT)
    return cli_report(tmp_path_factory, script, "--quick")


def test_html_and_its_plots_escape_names_from_the_script(injected):
    page = (injected / "report.html").read_text()
    collector = _Collector()
    collector.feed(page)
    assert "script" not in collector.tags and "img" not in collector.tags
    lowered = page.lower()
    assert "<script>alert" not in lowered and "<img src=x" not in lowered
    grad_flow = page.split('<figure id="plot-grad-flow"', 1)[1].split("</figure>", 1)[0]
    assert "&lt;img src=x" in grad_flow  # the layer name is drawn, as escaped SVG text
    assert "$x$ &lt;/svg&gt;" in grad_flow  # no mathtext, no early end of the SVG
    assert "left out after an internal error" not in page


def test_markdown_escapes_names_from_the_script(injected):
    markdown = (injected / "report.md").read_text()
    tags = {
        tag.lower()
        for block in html_blocks(markdown)
        for tag in re.findall(r"</?\s*([a-zA-Z0-9]+)", block)
    }
    assert tags == {"details", "summary"}
    rendered = MarkdownIt("commonmark").enable("table").render(markdown)
    assert "<img" not in rendered and "<script" not in rendered
    assert "&lt;img src=x onerror=alert(1)&gt;" in rendered


# -- plots on their own
def test_plots_need_their_evidence():
    evidence = Evidence(
        script="x.py", observe=ObservedRun(run=RunInfo(scenario="observe", status="crashed"))
    )
    diagnosis = Diagnosis(script="x.py", healthy=False, verdict="crashed", summary="")
    assert build_plots(diagnosis, evidence) == ([], [])


def test_lr_range_plot_marks_the_user_and_suggested_lr(hostile, rule_book):
    diagnosis, evidence = hostile
    lrs = [1e-6 * 1.2**k for k in range(90)]
    losses = [
        2.0 - 1.5 / (1 + math.exp(-(math.log10(lr) + 3) * 3)) + (5.0 if lr > 1 else 0.0)
        for lr in lrs
    ]
    replay = ScenarioRun(
        run=RunInfo(scenario="lr_range", status="budget"), lr_range=LRRangeSection(lrs, losses)
    )
    evidence = evidence.model_copy(update={"scenarios": {"lr_range": replay}})
    diagnosis = judge(evidence, rule_book)
    assert diagnosis.lr_suggestion is not None
    plots, failed = build_plots(diagnosis, evidence)
    plot = next(p for p in plots if p.id == "plot-lr-range")
    assert (
        not failed
        and f"your LR {diagnosis.lr_suggestion.user_lr:.3g}" in plot.svg
        and "suggested" in plot.svg
    )
    assert "LR range test" in render_markdown(diagnosis, evidence)


def test_thin_keeps_at_most_the_limit_and_the_last_point():
    xs, ys = thin(list(range(10_001)), [float(v) for v in range(10_001)])
    assert len(xs) <= 401 and xs[0] == 0 and xs[-1] == 10_000 and ys[-1] == 10_000.0
