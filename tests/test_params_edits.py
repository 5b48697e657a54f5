"""params.yaml survives DVC's own `-S` edits: DVC rewrites the file through a ruamel round trip on
every `dvc exp run -S`, and the file is written in the form that round trip keeps (params.yaml's
header says how). A chain of the README's kinds of edits, run through DVC itself one after another
without resetting, changes only the edited lines and leaves a file the pipeline reads back with
every value set (src.config.params.load_params, which also reads DVC's `1e-05` floats)."""
import copy
import difflib

import pytest
import yaml

from src.config.params import load_params, read_params_file
from src.config.tree import build
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

def other(current, *choices):
    """The first of `choices` that differs from params.yaml's current value: every edit changes the file,
    whatever params.yaml ships today."""
    return next(choice for choice in choices if choice != current)


def flow(value):
    """A value as `-S key=...` text (YAML flow style, as the README writes it)."""
    return "[" + ",".join(str(v) for v in value) + "]" if isinstance(value, list) else str(value)


# (dotted key, new value from the current one): the README's kinds of edits (a float, lists emptied, shortened and
# refilled, a name with its comment, an exponent float, nested keys), applied one after another without resetting.
CHAIN = [
    ("train.lr", lambda lr: lr / 2),
    ("ensemble.tta", lambda tta: [] if tta else ["hflip"]),
    ("train.optimizer.name", lambda name: other(name, "SGD", "AdamW")),
    ("train.optimizer.weight_decay", lambda decay: other(decay, 1e-5, 2e-5)),
    ("train.mix.cutmix_alpha", lambda alpha: other(alpha, 1.0, 0.5)),
    ("data.age_bins", lambda bins: other(bins, [30, 58], [30, 60])),
    ("train.folds", lambda folds: other(folds, [0, 1], [0, 2])),
    ("tune.space.lr.loguniform", lambda bounds: other(bounds, [0.001, 0.006], [0.002, 0.006])),
    ("ensemble.tta", lambda tta: [] if tta else ["hflip"]),
]


def lookup(params, dotted):
    for part in dotted.split("."):
        params = params[part]
    return params


def with_value(params, dotted, value):
    changed = copy.deepcopy(params)
    *parents, leaf = dotted.split(".")
    holder = changed
    for part in parents:
        holder = holder[part]
    holder[leaf] = value
    return changed


def last_line(node):
    """The last line (0-based) a YAML node's own text is on (a block collection: its last item's)."""
    if isinstance(node, yaml.MappingNode) and node.value and not node.flow_style:
        return last_line(node.value[-1][1])
    if isinstance(node, yaml.SequenceNode) and node.value and not node.flow_style:
        return last_line(node.value[-1])
    end = node.end_mark
    return end.line - 1 if end.column == 0 and end.line > node.start_mark.line else end.line


def key_lines(text, dotted):
    """(first, last) 0-based lines of `dotted`'s key and value in the YAML text."""
    node = yaml.compose(text)
    for part in dotted.split("."):
        key, node = next((k, v) for k, v in node.value if k.value == part)
    return key.start_mark.line, last_line(node)


def changes_outside(before, after, lines):
    """The diff's changes of lines of `before` outside the range `lines` (inclusive): [(tag, old, new)]."""
    first, last = lines
    old, new = before.splitlines(), after.splitlines()
    outside = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        inside = first <= i1 and (i2 - 1 <= last if i2 > i1 else i1 <= last + 1)
        if tag != "equal" and not inside:
            outside.append((tag, old[i1:i2], new[j1:j2]))
    return outside


def comments(lines):
    return [line[line.index(" #"):].strip() for line in lines if " #" in line]


def test_a_chain_of_set_edits_changes_only_their_lines(tmp_path):
    run(["git", "init", "-q"], tmp_path)
    run(["dvc", "init", "-q"], tmp_path)
    (tmp_path / "params.yaml").write_text((REPO / "params.yaml").read_text())
    (tmp_path / "dvc.yaml").write_text(STAGE)
    (tmp_path / ".gitignore").write_text("/out.txt\n")
    git_commit(tmp_path, "base")
    path = tmp_path / "params.yaml"
    for key, new in CHAIN:
        before, params = path.read_text(), read_params_file(path)
        value = new(lookup(params, key))
        done = run_stage(["dvc", "exp", "run", "-S", f"{key}={flow(value)}"], tmp_path)
        assert done.returncode == 0, f"{key}: {done.stdout[-1000:]}{done.stderr[-1000:]}"
        after = path.read_text()
        lines = key_lines(before, key)
        # Only the key's own lines changed; every other line (comments after lists included) is kept as is.
        assert after != before and changes_outside(before, after, lines) == [], (key, lines)
        edited = before.splitlines()[lines[0]:lines[1] + 1]
        assert set(comments(edited)) <= set(comments(after.splitlines())), (key, edited)  # its comment stays
        # The pipeline reads every key back, valid, the edited one with its new value and the rest unchanged.
        assert load_params(path) == build(with_value(params, key, value)), key
