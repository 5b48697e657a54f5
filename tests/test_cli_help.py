"""Every stage script answers --help with its docstring and exit status 0, without running anything.
In-process (runpy, as `python -m` does: the imports are paid once), plus one real subprocess."""
import ast
import runpy
import subprocess
import sys

import pytest
from tests.helpers import REPO

STAGES = sorted(p.stem for p in (REPO / "stages").glob("*.py") if p.stem != "__init__")  # not stages/plumbing/


def docstring(stage):
    doc = ast.get_docstring(ast.parse((REPO / "stages" / f"{stage}.py").read_text()))
    assert doc, f"stages/{stage}.py has no docstring"
    return doc


def test_every_stage_is_covered():
    assert {"face_crop", "split", "train", "ensemble", "predict", "evaluate", "tune", "make_sample"} <= set(STAGES)


@pytest.mark.parametrize("stage", STAGES)
def test_help_prints_the_docstring(stage, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", [f"stages/{stage}.py", "--help"])
    with pytest.raises(SystemExit) as done:
        runpy.run_module(f"stages.{stage}", run_name="__main__")
    out = capsys.readouterr().out
    assert done.value.code in (0, None)
    assert out.startswith("usage:") and docstring(stage).splitlines()[0] in out


def test_help_from_the_command_line():
    done = subprocess.run([sys.executable, "-m", "stages.make_sample", "--help"], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and docstring("make_sample").splitlines()[0] in done.stdout
