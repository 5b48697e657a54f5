"""One tiny committed pipeline run shared by the plots and remotes tests: tests/workspace.py's copy of
the pipeline with tiny params, the sample data tracked by `dvc add`, `dvc repro evaluate` done and
committed. Built once per test session."""
from tests.workspace import REPO, make_sample, make_workspace, run  # noqa: F401 (REPO, run: re-exported)

# Two epochs, so each training curve is a line; the centre crop skips MTCNN (not under test here).
TINY = {"split": {"k": 2}, "train": {"folds": [0, 1], "epochs": 2, "model": "mobilenetv3_small_050",
                                     "batch_size": 16},
        "face_crop": {"size": [64, 48], "detector": "center"}, "ensemble": {"error_analysis_top": 10}}
_built = {}


def git_commit(ws, message):
    run(["git", "add", "-A"], ws)
    run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", message], ws)


def committed_workspace(tmp_path_factory):
    """The workspace folder (built on first use in this session)."""
    if "ws" not in _built:
        ws = make_workspace(tmp_path_factory.mktemp("plots_remotes") / "repo", TINY)
        make_sample(ws, persons=12, eval_persons=3)
        run(["dvc", "add", "-q", "data"], ws)
        git_commit(ws, "data")
        run(["dvc", "repro", "evaluate"], ws)
        git_commit(ws, "pipeline run")
        _built["ws"] = ws
    return _built["ws"]
