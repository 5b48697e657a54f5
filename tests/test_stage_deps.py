"""Every stage's deps in dvc.yaml are exactly the repository modules it loads in a real run: editing
any of them reruns the stage (and the train stage's resume fingerprint hashes the same files), and
no stage reruns for code it does not use (predict and ensemble load no training code).

Each stage's command, as DVC resolves it from dvc.yaml, runs through tests/helpers/trace_modules.py in a
tiny user's repo (tests/helpers/workspace.py), in pipeline order, on real data written by make_sample."""
import pytest

from tests.helpers.workspace import REPO, make_sample, make_workspace, run_stage

pytestmark = pytest.mark.pipeline

TINY = {"split": {"k": 2}, "train": {"folds": [0, 1], "epochs": 1, "model": "mobilenetv3_small_050", "batch_size": 16},
        "face_crop": {"size": [32, 24], "detector": "center"},
        "tune": {"num_samples": 1, "max_t": 1, "max_concurrent": 1,
                 "space": {"epochs": {"choice": [1]}, "model": {"choice": ["mobilenetv3_small_050"]}}}}
ORDER = ["check_params", "face_crop", "weights", "split", "train@0-all", "train@1-all", "ensemble", "predict", "evaluate", "tune"]
TRAINING = {f"src/training/{name}.py" for name in ("loop", "losses", "optim", "samplers", "mixing", "transforms",
                                                     "resample", "fold_members")}


def code_deps(ws, deps):
    """The .py files under src/ and stages/ that a stage's deps name (a folder: every .py file in it)."""
    files = set()
    for dep in deps:
        path = ws / dep
        if dep.split("/")[0] in ("src", "stages"):
            files |= {str(p.relative_to(ws)) for p in path.rglob("*.py")} if path.is_dir() else {dep}
    return files


@pytest.fixture(scope="module")
def traced(tmp_path_factory):
    """{stage name: (modules loaded, code deps in dvc.yaml)} of one real run of every stage."""
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
        result[name] = set(trace.read_text().split()), code_deps(ws, deps[name])
    return result


@pytest.mark.parametrize("stage", ORDER)
def test_stage_deps_are_the_modules_it_loads(traced, stage):
    loaded, declared = traced[stage]
    assert f"stages/{stage.split('@')[0]}.py" in loaded
    assert sorted(loaded - declared) == [], f"{stage} loads modules dvc.yaml does not list"
    assert sorted(declared - loaded) == [], f"{stage} lists modules it never loads"


@pytest.mark.parametrize("stage", ["ensemble", "predict", "evaluate"])
def test_scoring_stages_load_no_training_code(traced, stage):
    assert traced[stage][0] & TRAINING == set()

