"""Every `dvc exp run` line of the README and docs/, exactly as written: its -S edits applied to params.yaml by
DVC's own code (as `dvc exp run -S` does), then the check_params stage's checks (keys, values, names, weights
sources, device names). Nothing is switched: a line a user copies fails here first."""
import re
import shlex
import shutil

import pytest
from dvc.utils.hydra import apply_overrides

from stages.plumbing.name_checks import load_checked_params
from tests.helpers import REPO

DOCUMENTS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def bash_lines(path):
    """The lines of the ```bash blocks of a markdown file, comments cut."""
    lines, inside = [], False
    for line in path.read_text().splitlines():
        if line.startswith("```"):
            inside = line.strip() == "```bash"
            continue
        if inside:
            lines.append(line.split(" # ")[0].strip())
    return lines


def exp_run_lines():
    return [(path.relative_to(REPO), line) for path in DOCUMENTS for line in bash_lines(path)
            if line.startswith("dvc exp run ")]


def set_params(line):
    """The -S / --set-param values of a `dvc exp run` line, in order."""
    words, edits = shlex.split(line), []
    for flag, value in zip(words, words[1:]):
        if flag in ("-S", "--set-param"):
            edits.append(value)
    return edits


def test_the_readme_has_experiment_lines_with_edits():
    readme = [line for path, line in exp_run_lines() if path.name == "README.md"]
    assert len(readme) >= 5, readme
    assert sum(bool(set_params(line)) for line in readme) >= 4
    for line in readme:  # the target that leaves the tune stage out (README: "Always give the target")
        assert shlex.split(line)[-1] == "evaluate", line


@pytest.mark.parametrize("where, line", exp_run_lines(), ids=lambda v: str(v)[:90])
def test_each_documented_experiment_passes_check_params(tmp_path, where, line):
    params = tmp_path / "params.yaml"
    shutil.copy(REPO / "params.yaml", params)
    edits = set_params(line)
    if edits:
        apply_overrides(params, edits)  # DVC's own -S
    load_checked_params(params)  # the device's usability is the machine's: a GPU line is for a GPU machine
    for edit in edits:
        key = edit.split("=", 1)[0]
        assert re.fullmatch(r"[a-z_]+(\.[a-z_]+)*", key), f"{where}: {line}: -S {edit}"
