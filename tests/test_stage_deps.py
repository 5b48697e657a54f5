"""A stage's code deps in dvc.yaml are folders (src/<package>, stages/plumbing) plus its own script, and
they cover every repository module the stage loads: editing any of them reruns the stage (and the train
stage's resume fingerprint, which hashes the modules a run loads, changes only with a file inside its
deps). The scoring stages (ensemble, predict, evaluate) load no training code.

The pipeline tests run each stage's command, as DVC resolves it from dvc.yaml, through
tests/helpers/trace_modules.py in a tiny user's repo (tests/helpers/workspace.py), in pipeline order, on
real data written by make_sample. The others read dvc.yaml and .dvcignore only."""
import shutil
from pathlib import Path

import pytest
import yaml

from tests.helpers.workspace import REPO, make_sample, make_workspace, run_stage

TINY = {"split": {"k": 2}, "train": {"folds": [0, 1], "epochs": 1, "model": "mobilenetv3_small_050", "batch_size": 16},
        "face_crop": {"size": [32, 24], "detector": "center"},
        "tune": {"num_samples": 1, "max_t": 1, "max_concurrent": 1,
                 "space": {"epochs": {"choice": [1]}, "model": {"choice": ["mobilenetv3_small_050"]}}}}
ORDER = ["check_params", "face_crop", "weights", "split", "train@0-all", "train@1-all", "ensemble", "predict", "evaluate", "tune"]
SCORING = ["ensemble", "predict", "evaluate"]
CODE = ("src", "stages")


def is_code(dep):
    return dep.split("/")[0] in CODE


def covers(deps, module):
    """Whether a dep names the module's file or a folder above it."""
    return any(module == dep or module.startswith(dep.rstrip("/") + "/") for dep in deps)


def code_deps():
    """{stage name in dvc.yaml: its deps under src/ and stages/}, as written (no code dep is templated)."""
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    return {name: [dep for dep in stage["deps"] if is_code(dep)] for name, stage in stages.items()}


@pytest.fixture(scope="module")
def traced(tmp_path_factory):
    """{stage name: (modules loaded, deps)} of one real run of every stage."""
    from dvc.repo import Repo

    ws = make_workspace(tmp_path_factory.mktemp("deps") / "repo", TINY)
    make_sample(ws, persons=12, eval_persons=2)
    with Repo(str(ws)) as repo:
        stages = {stage.name: stage for stage in repo.index.stages if stage.cmd}
        commands = {name: stage.cmd for name, stage in stages.items()}
        deps = {name: [str(dep.def_path) for dep in stage.deps] for name, stage in stages.items()}
    assert sorted(commands) == sorted(ORDER), "a stage was added or renamed: add it to ORDER"
    result = {}
    for name in ORDER:
        python, dash_m, module, *args = commands[name].split()
        assert (python, dash_m) == ("python", "-m"), commands[name]
        trace = ws / f"trace-{name}.txt"
        tracer = REPO / "tests" / "helpers" / "trace_modules.py"
        done = run_stage(["python", str(tracer), str(trace), module, *args], ws)
        assert done.returncode == 0, f"{name}: {done.stderr[-3000:]}"
        result[name] = set(trace.read_text().split()), deps[name]
    return result


@pytest.mark.pipeline
@pytest.mark.parametrize("stage", ORDER)
def test_deps_cover_every_module_the_stage_loads(traced, stage):
    loaded, deps = traced[stage]
    assert f"stages/{stage.split('@')[0]}.py" in loaded
    assert sorted(m for m in loaded if not covers(deps, m)) == [], f"{stage} loads modules its deps do not cover"


@pytest.mark.pipeline
@pytest.mark.parametrize("stage", SCORING)
def test_scoring_stages_load_no_training_code(traced, stage):
    loaded, deps = traced[stage]
    assert sorted(m for m in loaded if m.startswith("src/training/")) == []
    assert "src/training" not in deps and "src" not in deps


@pytest.mark.parametrize("stage", sorted(code_deps()))
def test_code_deps_exist_and_are_folders_or_the_stage_script(stage):
    """A renamed or deleted module leaves no stale dep; a new module needs no dvc.yaml edit unless its
    package is new to the stage. Single files: the stage's script and the __init__.py of src/ and stages/
    (their folders as a whole would rerun every stage for any edit)."""
    for dep in code_deps()[stage]:
        path = REPO / dep
        assert path.exists(), f"{stage}: {dep} does not exist"
        assert path.is_dir() or dep in (f"stages/{stage}.py", "src/__init__.py", "stages/__init__.py"), \
            f"{stage}: {dep} is a single module: name its package's folder"


def test_python_caches_stay_out_of_code_folder_hashes(tmp_path):
    """The interpreter writes __pycache__/ into src/ and stages/ folders during a run (unless
    PYTHONDONTWRITEBYTECODE): DVC would hash them into the folder deps, and a module first imported by a
    later stage, or another Python version, would make the earlier stages' deps look edited."""
    from dvc.fs import LocalFileSystem
    from dvc.ignore import DvcIgnoreFilter

    shutil.copy(REPO / ".dvcignore", tmp_path / ".dvcignore")
    for name in ("src/common/atomic.py", "src/common/__pycache__/atomic.cpython-311.pyc",
                 "stages/plumbing/__pycache__/paths.cpython-312.pyc"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    fs = LocalFileSystem()
    hashed = DvcIgnoreFilter(fs, str(tmp_path)).find(fs, str(tmp_path))
    assert sorted(str(Path(f).relative_to(tmp_path)) for f in hashed) == [".dvcignore", "src/common/atomic.py"]
