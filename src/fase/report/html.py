"""A self-contained HTML page: inline CSS, images as base64 ``data:`` URIs, no JavaScript.

Markdown artefacts (dataset and graph tables, evaluation, allocation summaries,
provenance, deviations) are rendered with ``markdown-it-py`` (installed with ``rich``,
a FASE dependency), CommonMark plus tables, raw HTML escaped. Links other than
``#anchors`` and images become plain text, so the page references nothing outside it.
Headings inside a rendered document are demoted below the section heading.

A table of more than :data:`LONG_TABLE_ROWS` rows (a per-area table of 77 rows, a long
leaderboard), rendered from a DataFrame or from Markdown, is collapsed into a closed
``<details>`` block whose summary names it and its row count, so that the page reads in
one look; the short tables (findings, Table 1, histories) stay open.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd
from markdown_it import MarkdownIt
from markdown_it.token import Token

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222;
  max-width: 1100px; margin: 0 auto; padding: 1.5rem 2rem 4rem; line-height: 1.45; }
h1 { font-size: 1.7rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.35rem; border-bottom: 2px solid #0072B2; padding-bottom: 0.2rem;
  margin-top: 2.5rem; }
h3 { font-size: 1.1rem; margin-top: 1.5rem; }
h4, h5, h6 { font-size: 1rem; }
.subtitle { color: #555; margin-top: 0; }
nav ol { columns: 2; font-size: 0.95rem; }
a { color: #0072B2; }
table { border-collapse: collapse; margin: 0.8rem 0; font-size: 0.85rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.55rem; text-align: left; }
th { background: #f0f4f8; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.scroll { overflow-x: auto; max-height: 32rem; overflow-y: auto; }
figure { margin: 1.2rem 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figure.half { display: inline-block; width: 48%; margin-right: 1.5%; vertical-align: top; }
figcaption { font-size: 0.88rem; color: #444; margin-top: 0.3rem; }
.note { background: #fff8e6; border-left: 4px solid #E69F00; padding: 0.4rem 0.8rem;
  margin: 0.8rem 0; font-size: 0.92rem; }
details { margin: 0.8rem 0; }
summary { cursor: pointer; font-weight: 600; }
pre { background: #f6f6f6; padding: 0.8rem; overflow-x: auto; font-size: 0.8rem; }
code { font-size: 0.88em; }
blockquote { border-left: 3px solid #ccc; margin-left: 0; padding-left: 1rem; color: #333; }
"""


MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable("table")
LONG_TABLE_ROWS = 25
"""Tables with more body rows than this are collapsed (the embedded data's Table 1 has 24)."""


def _unlink(children: list[Token]) -> None:
    """Turn links (other than ``#anchors``) and images into plain text, in place.

    ``[text](target)`` becomes ``text (target)``; an autolink keeps just its text; an
    image becomes ``[image: alt] (src)``. The page then loads and links nothing outside it.
    """
    for index, child in enumerate(children):
        if child.type == "image":
            child.type, child.tag, child.nesting = "text", "", 0
            child.content = f"[image: {child.content}] ({child.attrGet('src')})"
            child.attrs, child.children = {}, None
        if child.type == "link_open" and not str(child.attrGet("href") or "").startswith("#"):
            suffix = "" if child.markup == "autolink" else f" ({child.attrGet('href')})"
            close = next(c for c in children[index + 1 :] if c.type == "link_close")
            for token, content in ((child, ""), (close, suffix)):
                token.type, token.tag, token.nesting, token.attrs = "text", "", 0, {}
                token.content = content


def _collapse_long_tables(tokens: list[Token]) -> list[Token]:
    """``tokens`` with every table of more than :data:`LONG_TABLE_ROWS` body rows replaced
    by one block of its HTML collapsed (:func:`collapsed_html`) under the heading above it."""
    out: list[Token] = []
    title, start, rows = "Table", 0, 0
    for index, token in enumerate(tokens):
        if token.type == "inline" and index > 0 and tokens[index - 1].type == "heading_open":
            title = token.content
        if token.type == "table_open":
            start, rows = len(out), 0
        if token.type == "tr_open" and tokens[index - 1].type != "thead_open":
            rows += 1
        out.append(token)
        if token.type == "table_close" and rows > LONG_TABLE_ROWS:
            table = MARKDOWN.renderer.render(out[start:], MARKDOWN.options, {})
            out[start:] = [Token("html_block", "", 0, content=collapsed_html(title, rows, table))]
    return out


def markdown_html(text: str, shift: int = 2) -> str:
    """Render Markdown; headings move down ``shift`` levels (``#`` → ``<h3>`` by default);
    long tables are collapsed (module docstring)."""
    tokens = MARKDOWN.parse(text)
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(6, int(token.tag[1]) + shift)}"
        if token.type == "inline" and token.children:
            _unlink(token.children)
    return MARKDOWN.renderer.render(_collapse_long_tables(tokens), MARKDOWN.options, {})


def _cell(value: object, digits: int) -> tuple[str, bool]:
    """Text of one table cell and whether it is numeric (right-aligned)."""
    if isinstance(value, bool):
        return str(value), False
    if isinstance(value, int):
        return f"{value:,}", True
    if isinstance(value, float):
        if math.isnan(value):
            return "–", True
        if value.is_integer() and abs(value) < 1e15:
            return f"{int(value):,}", True  # a count stored as a float (a column with NaN)
        return (f"{value:.{digits}f}" if abs(value) < 1e6 else f"{value:.4g}"), True
    return str(value), False


def table_html(
    table: pd.DataFrame, digits: int = 4, title: str = "Table", collapse: bool = True
) -> str:
    """An HTML table of ``table`` (index dropped); floats to ``digits`` decimals, NaN as –.

    With more than :data:`LONG_TABLE_ROWS` rows it is collapsed under ``title`` (unless
    ``collapse`` is False: for a table its caller already puts in a ``<details>``).
    """
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in table.columns)
    rows = []
    for record in table.itertuples(index=False):
        cells = []
        for value in record:
            item = value.item() if hasattr(value, "item") else value
            text, numeric = _cell(item, digits)
            css = ' class="num"' if numeric else ""
            cells.append(f"<td{css}>{html.escape(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    body = "\n".join(rows)
    rendered = f'<div class="scroll"><table>\n<tr>{head}</tr>\n{body}\n</table></div>'
    if collapse and len(table) > LONG_TABLE_ROWS:
        return collapsed_html(title, len(table), rendered)
    return rendered


def collapsed_html(title: str, rows: int, table: str) -> str:
    """A long ``table`` in a closed ``<details>`` summarised as "``title`` (``rows`` rows)"."""
    return details_html(f"{title} ({rows:,} rows)", table)


def figure_html(png: bytes, caption: str, half: bool = False) -> str:
    """A figure with the PNG inline (base64 ``data:`` URI) and a caption.

    ``half`` figures (single maps) take half the page width, two to a row.
    """
    data = base64.b64encode(png).decode("ascii")
    css = ' class="half"' if half else ""
    return (
        f'<figure{css}><img src="data:image/png;base64,{data}" alt="{html.escape(caption)}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def note_html(text: str) -> str:
    """A highlighted note (e.g. why a section is empty)."""
    return f'<p class="note">{html.escape(text)}</p>'


def paragraph_html(text: str) -> str:
    """One escaped paragraph."""
    return f"<p>{html.escape(text)}</p>"


def list_html(items: Sequence[str]) -> str:
    """An unordered list of escaped items."""
    return "<ul>" + "".join(f"<li>{html.escape(i)}</li>" for i in items) + "</ul>"


def preformatted_html(text: str) -> str:
    """Escaped preformatted text (configuration, JSON)."""
    return f"<pre>{html.escape(text)}</pre>"


def details_html(summary: str, body: str) -> str:
    """A collapsible block (``<details>``, closed by default; no JavaScript needed)."""
    return f"<details><summary>{html.escape(summary)}</summary>{body}</details>"


def heading_html(text: str, level: int = 3) -> str:
    """An escaped subsection heading."""
    return f"<h{level}>{html.escape(text)}</h{level}>"


@dataclass
class Section:
    """One ``<section>``: anchor ``key``, heading ``title`` and HTML ``parts`` in order."""

    key: str
    title: str
    parts: list[str] = field(default_factory=list)


def page_html(title: str, subtitle: str, sections: Sequence[Section]) -> str:
    """The whole document: title, a table of contents and the sections."""
    toc = "".join(
        f'<li><a href="#{html.escape(s.key)}">{html.escape(s.title)}</a></li>' for s in sections
    )
    body = "\n".join(
        f'<section id="{html.escape(s.key)}">\n<h2>{html.escape(s.title)}</h2>\n'
        + "\n".join(s.parts)
        + "\n</section>"
        for s in sections
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        f"<header><h1>{html.escape(title)}</h1>\n"
        f'<p class="subtitle">{html.escape(subtitle)}</p></header>\n'
        f"<nav><strong>Contents</strong><ol>{toc}</ol></nav>\n{body}\n</body>\n</html>\n"
    )
