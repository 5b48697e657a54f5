"""The train stage's dvclive folder grows as each epoch ends (a running `dvc exp run` shows its progress in
`dvc exp show` / `dvc plots show`), and a fold killed and resumed has every epoch once, in the same bytes
as an uninterrupted run's."""
import json

import pandas as pd
import pytest

from src.config.params import train_config
from src.training.loop import train_model
from stages.train import write_live
from tests.test_training import CFG, colour_task

pytestmark = pytest.mark.pipeline

RUN = {**CFG, "epochs": 4, "patience": 4}


class Killed(Exception):
    pass


def curve(folder, name="val/f1"):
    return pd.read_csv(folder / "plots" / "metrics" / f"{name}.tsv", sep="\t")


def live_files(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def task():
    return colour_task(64, 0) + colour_task(32, 1)


def test_each_epoch_is_on_disk_when_it_ends_and_a_resumed_fold_has_each_once(tmp_path, task, one_torch_thread):
    live, checkpoint = tmp_path / "live", tmp_path / "last.pt"
    on_disk = []

    def look_then_die(epoch, metrics, improved):
        rows = curve(live)
        on_disk.append((json.loads((live / "metrics.json").read_text())["step"], rows["step"].tolist()))
        assert rows["f1"].iloc[-1] == pytest.approx(metrics["f1"])
        if epoch == 1:
            raise Killed

    with pytest.raises(Killed):
        train_model(train_config(RUN), *task, seed=3, on_epoch=look_then_die, resume_path=checkpoint,
                    on_history=lambda history: write_live(live, history))
    assert on_disk == [(0, [0]), (1, [0, 1])]  # the curve as it stood when each epoch ended

    resumed = train_model(train_config(RUN), *task, seed=3, resume_path=checkpoint, on_history=lambda h: write_live(live, h))
    assert curve(live)["step"].tolist() == [0, 1, 2, 3]
    assert curve(live)["f1"].tolist() == pytest.approx([m["f1"] for m in resumed.history])
    summary = json.loads((live / "metrics.json").read_text())
    assert summary["epochs_run"] == 4 and summary["best"]["epoch"] == resumed.best_epoch + 1

    straight = tmp_path / "straight"
    train_model(train_config(RUN), *task, seed=3, on_history=lambda history: write_live(straight, history))
    assert live_files(live) == live_files(straight)
