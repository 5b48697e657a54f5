"""params.yaml survives DVC's own `-S` edits: DVC rewrites the file through a ruamel round trip on
every `dvc exp run -S`, and the file is written in the form that round trip keeps (params.yaml's
header says how). A chain of the README's kinds of edits, run through DVC itself one after another
without resetting, changes only the edited lines and leaves a file the pipeline reads back with
every value set (src.config.params.load_params, which also reads DVC's `1e-05` floats)."""
import difflib
import subprocess

import pytest

from src.config.params import load_params
from tests.helpers.workspace import REPO, git_commit, run, run_stage

pytestmark = pytest.mark.pipeline

STAGE = """stages:
  s:
    cmd: echo ok > out.txt
    params:
      - data
      - train
      - ensemble
      - tune
    outs:
      - out.txt
"""

# (override, lines removed, lines added, dotted key, value read back)
CHAIN = [
    ("train.lr=0.001", ["lr: 0.002"], ["lr: 0.001"], "train.lr", 0.001),
    ("ensemble.tta=[]", ["tta:", "- hflip"], ["tta: []"], "ensemble.tta", []),
    ("train.optimizer.name=SGD", ["name: AdamW               # Adam | AdamW | SGD"],
     ["name: SGD                 # Adam | AdamW | SGD"], "train.optimizer.name", "SGD"),
    ("train.optimizer.weight_decay=1e-5", ["weight_decay: 0.0001"], ["weight_decay: 1e-05"],
     "train.optimizer.weight_decay", 1e-5),
    ("train.mix.cutmix_alpha=1.0", ["cutmix_alpha: 0.0"], ["cutmix_alpha: 1.0"], "train.mix.cutmix_alpha", 1.0),
    ("data.age_bins=[30,58]", ["- 60"], ["- 58"], "data.age_bins", [30, 58]),
    ("train.folds=[0,1]", ["- 2", "- 3", "- 4"], [], "train.folds", [0, 1]),
    ("tune.space.lr.loguniform=[0.001,0.006]", ["- 0.0007"], ["- 0.001"], "tune.space.lr.loguniform", [0.001, 0.006]),
    ("ensemble.tta=[hflip]", ["tta: []"], ["tta:", "- hflip"], "ensemble.tta", ["hflip"]),
]


def changed(before, after):
    lines = list(difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0))
    return ([line[1:].strip() for line in lines if line.startswith("-") and not line.startswith("---")],
            [line[1:].strip() for line in lines if line.startswith("+") and not line.startswith("+++")])


def lookup(params, dotted):
    for part in dotted.split("."):
        params = params[part]
    return params


def test_a_chain_of_set_edits_changes_only_their_lines(tmp_path):
    run(["git", "init", "-q"], tmp_path)
    run(["dvc", "init", "-q"], tmp_path)
    (tmp_path / "params.yaml").write_text((REPO / "params.yaml").read_text())
    (tmp_path / "dvc.yaml").write_text(STAGE)
    (tmp_path / ".gitignore").write_text("/out.txt\n")
    git_commit(tmp_path, "base")
    path = tmp_path / "params.yaml"
    for override, removed, added, key, value in CHAIN:
        before = path.read_text()
        done = run_stage(["dvc", "exp", "run", "-S", override], tmp_path)
        assert done.returncode == 0, f"{override}: {done.stdout[-1000:]}{done.stderr[-1000:]}"
        assert changed(before, path.read_text()) == (removed, added), override
        params = load_params(path)  # every key, type and range still valid
        assert lookup(params, key) == value, override
    assert lookup(params, "train.lr") == 0.001 and lookup(params, "data.age_bins") == [30, 58]
    diff = subprocess.run(["git", "diff", "--numstat", "params.yaml"], cwd=tmp_path, capture_output=True,
                          text=True, check=True).stdout.split()
    assert diff[:2] == ["6", "9"], diff  # the edits' lines alone, after nine edits
