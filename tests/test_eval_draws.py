"""bench/eval_draws.py: a finished run's ensemble scored on fresh eval draws of the sample, through the
pipeline's own faceCrop and soft vote (the reference run: its data is not the sample, its eval unlabelled)."""
import json

import pytest

from tests.helpers.workspace import reference_run, run

pytestmark = pytest.mark.pipeline


def test_scores_fresh_draws_of_new_persons(tmp_path_factory):
    reference, _ = reference_run(tmp_path_factory)
    workdir = tmp_path_factory.mktemp("draws")
    out = run(["python", "-m", "bench.eval_draws", "--draws", "2", "--persons", "3", "--workdir", str(workdir)],
              reference)
    report = json.loads((workdir / "eval_draws.json").read_text())
    assert [row["seed"] for row in report["draws"]] == [1, 2]  # no labelled eval set of its own: draws only
    for row in report["draws"]:
        assert 0 <= row["f1"] <= 1 and 0 <= row["hidden_traits_f1"] <= 1
        assert sum(row["boxes"].values()) == 3 * 7  # every image of the draw cropped and predicted
    assert f"draw 2: macro F1 {report['draws'][1]['f1']:.4f}" in out
    assert not (workdir / "draw_1").exists()  # each draw's images and crops are removed once scored


def test_refuses_no_draws():
    import subprocess
    import sys

    from tests.helpers import REPO

    done = subprocess.run([sys.executable, "-m", "bench.eval_draws", "--draws", "0"], cwd=REPO,
                          capture_output=True, text=True)
    assert done.returncode == 2 and "--draws and --persons must be >= 1" in done.stderr
