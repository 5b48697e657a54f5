"""Same params, data and seed -> byte-identical folds, out-of-fold probabilities and submission, across
two full `dvc repro evaluate` runs in two separate workspaces (CPU)."""
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.helpers.workspace import REFERENCE, reference_run, reference_workspace, run

pytestmark = pytest.mark.pipeline

OUTPUTS = ["folds/person_folds.csv", "crops/train.csv", "crops/train.npy",
           *(f"models/all/fold_{k}/oof_probs.csv" for k in REFERENCE["train"]["folds"]),
           "ensemble/oof_predictions.csv", "metrics/cv.json", "submission/submission.csv",
           "submission/eval_probs.npy"]


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    second = reference_workspace(tmp_path_factory.mktemp("second") / "repo")
    with ThreadPoolExecutor(max_workers=1) as pool:  # the second run alongside the (shared) reference run
        other = pool.submit(run, ["dvc", "repro", "evaluate"], second)
        first, _ = reference_run(tmp_path_factory)
        other.result()
    return first, second


@pytest.mark.parametrize("output", OUTPUTS)
def test_two_runs_write_identical_bytes(two_runs, output):
    first, second = two_runs
    assert (first / output).read_bytes() == (second / output).read_bytes(), output
