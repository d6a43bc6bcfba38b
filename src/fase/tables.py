"""Markdown tables: one cell format for every table the package prints or writes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from fase.io import write_json, write_text


def format_cell(value: Any) -> str:
    """A table cell: ``–`` for None, integers with thousands separators, floats with four
    decimals (``1,234.5000``), anything else as ``str``."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.4f}"
    return str(value)


def markdown_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None) -> str:
    """A Markdown table of dict rows (columns: ``columns`` or the first row's keys);
    an empty string when there is no row."""
    if not rows:
        return ""
    names = list(columns if columns is not None else rows[0].keys())
    lines = ["| " + " | ".join(names) + " |", "|" + "---|" * len(names)]
    lines += [
        "| " + " | ".join(format_cell(row.get(name)) for name in names) + " |" for row in rows
    ]
    return "\n".join(lines) + "\n"


def key_value_table(
    pairs: Sequence[tuple[str, Any]], header: tuple[str, str] = ("Statistic", "Value")
) -> str:
    """A two-column Markdown table of (label, value) pairs."""
    return markdown_table([{header[0]: label, header[1]: value} for label, value in pairs])


def save_table(
    markdown_path: str | Path,
    json_path: str | Path,
    title: str,
    pairs: Sequence[tuple[str, Any]],
    payload: Any,
) -> str:
    """Write the titled key-value table to ``markdown_path`` and ``payload`` to
    ``json_path`` (both atomically); return the Markdown."""
    text = f"# {title}\n\n" + key_value_table(pairs)
    write_text(markdown_path, text)
    write_json(json_path, payload)
    return text
