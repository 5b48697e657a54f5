"""One tiny committed pipeline run shared by the plots and remotes tests: a user's repo made from the
project (tests/helpers/workspace.py) with tiny params, the sample data tracked by `dvc add`, `dvc repro
evaluate` done and committed (metrics and plots included, as the project's .gitignore lets git keep
them). Built once per test session."""
from tests.helpers.workspace import REPO, git_commit, make_sample, make_workspace, run  # noqa: F401 (re-exported)

# Two epochs, so each training curve is a line; the centre crop skips MTCNN (not under test here).
TINY = {"split": {"k": 2}, "train": {"folds": [0, 1], "epochs": 2, "model": "mobilenetv3_small_050",
                                     "batch_size": 16},
        "face_crop": {"size": [64, 48], "detector": "center"}, "ensemble": {"error_analysis_top": 10}}
_built = {}


def committed_workspace(tmp_path_factory):
    """The workspace folder (built on first use in this session)."""
    if "ws" not in _built:
        ws = make_workspace(tmp_path_factory.mktemp("plots_remotes") / "repo", TINY)
        make_sample(ws, persons=12, eval_persons=3)
        git_commit(ws, "data")
        run(["dvc", "repro", "evaluate"], ws)
        git_commit(ws, "pipeline run")
        _built["ws"] = ws
    return _built["ws"]
