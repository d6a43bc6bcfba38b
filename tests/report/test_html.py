"""HTML building blocks: escaping, Markdown, inline images, no external references."""

from __future__ import annotations

import base64
import re

import numpy as np
import pandas as pd

from fase.report.html import (
    LONG_TABLE_ROWS,
    Section,
    details_html,
    figure_html,
    markdown_html,
    page_html,
    table_html,
)


def test_markdown_tables_and_demoted_headings() -> None:
    text = "# Title\n\n## Part\n\n| a | b |\n|---|---:|\n| x | 1 |\n"
    rendered = markdown_html(text)
    assert "<h3>Title</h3>" in rendered and "<h4>Part</h4>" in rendered
    assert "<th>a</th>" in rendered and "<td>x</td>" in rendered


def test_markdown_escapes_html_and_does_not_link_other_hosts() -> None:
    text = "<script>x()</script> <https://a.org/x> [b](http://b.org) [c](//c.org) [d](#run)"
    rendered = markdown_html(text)
    assert "<script>" not in rendered and "&lt;script&gt;" in rendered
    assert re.findall(r'href="([^"]*)"', rendered) == ["#run"]
    assert "https://a.org/x" in rendered and "b (http://b.org)" in rendered  # kept as text
    image = markdown_html("![map](http://x.org/m.png)")
    assert "<img" not in image and "[image: map] (http://x.org/m.png)" in image


def test_table_formats_numbers_and_escapes() -> None:
    table = pd.DataFrame({"name": ["<b>", "ok"], "value": [1.23456789, np.nan], "n": [1200, 3]})
    rendered = table_html(table)
    assert "<td>&lt;b&gt;</td>" in rendered
    assert '<td class="num">1.2346</td>' in rendered
    assert '<td class="num">–</td>' in rendered
    assert '<td class="num">1,200</td>' in rendered


def test_figure_is_inline_and_decodes_to_the_same_bytes() -> None:
    png = b"\x89PNG\r\n\x1a\nfake"
    rendered = figure_html(png, 'a "caption"')
    (data,) = re.findall(r'src="data:image/png;base64,([^"]+)"', rendered)
    assert base64.b64decode(data) == png
    assert 'alt="a &quot;caption&quot;"' in rendered


def test_page_has_contents_sections_and_no_script() -> None:
    sections = [Section("run", "Run", ["<p>x</p>"]), Section("cfg", "Config & more")]
    page = page_html("T <1>", "sub", sections)
    assert page.startswith("<!DOCTYPE html>")
    assert '<a href="#run">Run</a>' in page and '<a href="#cfg">Config &amp; more</a>' in page
    assert '<section id="cfg">\n<h2>Config &amp; more</h2>' in page
    assert "<title>T &lt;1&gt;</title>" in page
    assert "<script" not in page
    assert (
        details_html("s", "<pre>y</pre>") == "<details><summary>s</summary><pre>y</pre></details>"
    )


def test_long_tables_are_collapsed_with_their_row_count() -> None:
    """A per-area table of 77 rows is folded under "<title> (77 rows)"; a table of
    LONG_TABLE_ROWS rows is not; a caller's own <details> is not doubled."""
    long = pd.DataFrame({"area": [f"a{i}" for i in range(77)], "risk": np.arange(77) / 7})
    folded = table_html(long, title="Per area")
    assert folded.startswith("<details><summary>Per area (77 rows)</summary><div")
    assert folded.endswith("</table></div></details>") and folded.count("<tr>") == 78
    assert table_html(long, collapse=False) == folded.removeprefix(
        "<details><summary>Per area (77 rows)</summary>"
    ).removesuffix("</details>")
    short = table_html(long.head(LONG_TABLE_ROWS))
    assert "<details>" not in short and short.count("<tr>") == LONG_TABLE_ROWS + 1


def test_long_markdown_tables_are_collapsed_under_their_heading() -> None:
    rows = "\n".join(f"| {i} | {i / 10} |" for i in range(77))
    text = (
        "## Per node\n\n| node | nll |\n|---|---|\n" + rows + "\n\n"
        "## Count metrics\n\n| metric | value |\n|---|---|\n| MAE | 0.4 |\n"
    )
    rendered = markdown_html(text)
    per_node = rendered[rendered.index("<h4>Per node</h4>") : rendered.index("<h4>Count")]
    assert per_node.count("<details>") == 1
    assert "<summary>Per node (77 rows)</summary><table>" in per_node
    assert per_node.count("<tr>") == 78 and per_node.rstrip().endswith("</table>\n</details>")
    counts = rendered[rendered.index("<h4>Count metrics</h4>") :]
    assert "<details>" not in counts and "<td>MAE</td>" in counts
