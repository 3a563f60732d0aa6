"""Reports: ticket-safe Markdown, self-contained escaped HTML, sparklines."""

from __future__ import annotations

import html.parser
import re

import pytest
from markdown_it import MarkdownIt

from conftest import SCRIPTS
from diagnose.reports.render import fence, md_inline, render_html, render_markdown
from diagnose.reports.view import sparkline


@pytest.fixture(scope="module")
def hostile(observed, rule_book):
    from diagnose.rules.judge import judge

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
    tags = {tag.lower() for block in html_blocks(markdown) for tag in re.findall(r"</?\s*([a-zA-Z0-9]+)", block)}
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
    assert "script" not in collector.tags and "img" not in collector.tags and "b" not in collector.tags
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "http" not in page.split("<body>")[0]  # no external resources


def test_md_inline_and_fence_neutralise_markup():
    assert md_inline("a|b <i>*x*</i>\nnext") == "a\\|b &lt;i&gt;\\*x\\*&lt;/i&gt; next"
    block = fence("x = '```'\n", "python")
    assert block.startswith("````python\n") and block.endswith("\n````")


def test_sparkline_marks_nonfinite_and_uses_log_scale():
    line = sparkline([1000.0, 100.0, 10.0, 1.0, float("nan")])
    assert line == "█▅▃▁×"
    assert sparkline([]) == ""
