"""Running a hostile input through the real command line and checking the refusal."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from fase.cli import app

runner = CliRunner()

MAX_OUTPUT = 10_000  # characters: a refusal is a message, never a dump of the input


def invoke(*args: object) -> tuple[int, str]:
    """Exit code and output (stdout and stderr) of ``fase ARGS``; never a traceback."""
    result = runner.invoke(app, [str(a) for a in args])
    output = result.output + (result.stderr if result.stderr_bytes is not None else "")
    assert "Traceback" not in output, output[:MAX_OUTPUT]
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    return result.exit_code, output


def refused(*args: object, names: str | tuple[str, ...]) -> str:
    """Run ``fase ARGS``; it must exit with status 2 and one ``error: SOURCE: PROBLEM``
    line naming one of ``names`` (the file, field, option or row). Returns that line."""
    names = (names,) if isinstance(names, str) else names
    code, output = invoke(*args)
    assert code == 2, output[:MAX_OUTPUT]
    assert "internal error" not in output, output[:MAX_OUTPUT]
    assert len(output) < MAX_OUTPUT, f"{len(output)} characters: {output[:2000]}"
    errors = [line for line in output.splitlines() if line.startswith("error: ")]
    assert errors, output
    assert any(name in errors[0] for name in names), errors[0]
    return errors[0]


def nothing_usable(run_dir: Path) -> None:
    """What a failed command left at ``run_dir`` is refused by the commands that read a
    run, each with one clear error (exit status 2)."""
    for command in (["report"], ["evaluate"], ["allocate"], ["train", "--resume"]):
        code, output = invoke(*command, run_dir)
        assert code == 2, f"fase {' '.join(command)} accepted {run_dir}:\n{output[:2000]}"
        assert output.startswith("error: ") or "\nerror: " in output, output[:2000]
