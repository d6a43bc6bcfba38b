"""User-facing errors.

Every problem caused by the user's input (a file, a row, a config field) is raised
as a :class:`FaseInputError`, which names *where* the problem is and *what to do*.
The CLI prints it as one clear message and exits with status 2; it never shows a
traceback for bad input.
"""

from __future__ import annotations

from pathlib import Path


class FaseInputError(Exception):
    """A problem with user-supplied input.

    Args:
        source: the file (or config field, or CLI option) the problem is in.
        problem: what is wrong, in one sentence.
        hint: what the user can do about it (optional).
    """

    def __init__(self, source: str | Path, problem: str, hint: str | None = None) -> None:
        self.source = str(source)
        self.problem = problem
        self.hint = hint
        message = f"{self.source}: {problem}"
        if hint:
            message += f"\n  hint: {hint}"
        super().__init__(message)
