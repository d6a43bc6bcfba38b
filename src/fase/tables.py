"""Small Markdown/JSON tables written next to a run's artefacts."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fase.io import write_json, write_text


def markdown_table(
    rows: Sequence[tuple[str, Any]], header: tuple[str, str] = ("Statistic", "Value")
) -> str:
    """Two-column Markdown table; numbers get thousands separators."""

    def fmt(value: Any) -> str:
        if isinstance(value, bool):
            return str(value)
        if isinstance(value, int):
            return f"{value:,}"
        if isinstance(value, float):
            return f"{value:,.4f}"
        return str(value)

    lines = [f"| {header[0]} | {header[1]} |", "|---|---|"]
    lines += [f"| {label} | {fmt(value)} |" for label, value in rows]
    return "\n".join(lines) + "\n"


def save_table(
    directory: str | Path, stem: str, title: str, rows: Sequence[tuple[str, Any]], payload: Any
) -> str:
    """Write ``stem.md`` (titled table) and ``stem.json`` (``payload``); return the Markdown."""
    text = f"# {title}\n\n" + markdown_table(rows)
    write_text(Path(directory) / f"{stem}.md", text)
    write_json(Path(directory) / f"{stem}.json", payload)
    return text
