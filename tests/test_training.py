"""train_model, the one training function: it learns, it is deterministic on CPU, it resumes."""
import numpy as np
import pytest
import torch

from src.config.params import train_config
from src.common.atomic import save_torch
from src.inference.ensemble import load_members, out_of_fold_probs
from src.models.fold_model import checkpoint_payload, load_fold_model
from src.training.loop import train_epoch, train_model

CFG = {"model": "mobilenetv3_small_050", "pretrained": "", "drop_rate": 0.0, "epochs": 3, "patience": 5,
       "batch_size": 16, "lr": 0.01, "optimizer": {"name": "AdamW", "weight_decay": 0.0},
       "scheduler": {"name": "CosineAnnealingLR"}, "loss": {"name": "cross_entropy"}, "sampler": "none",
       "num_workers": 0, "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25], "folds": [0], "tasks": ["all"],
       "augment": [{"name": "HorizontalFlip", "p": 0.5}]}


def colour_task(n, seed):
    """Images whose colour tells the class: 3 classes (wear / incorrect / not wear, male, <30)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n) * 6
    colours = np.array([[220, 40, 40], [40, 220, 40], [40, 40, 220]])[labels // 6]
    images = colours[:, None, None, :] + rng.integers(-30, 30, (n, 32, 24, 3))
    return np.clip(images, 0, 255).astype(np.uint8), labels


@pytest.fixture(scope="module")
def task():
    return colour_task(96, 0) + colour_task(48, 1)


@pytest.mark.pipeline
def test_learns_an_easy_task_and_reports_each_epoch(task):
    seen = []
    # resnet18 from random init learns this in an epoch; mobilenetv3 needs many more from scratch.
    result = train_model(train_config({**CFG, "epochs": 4, "model": "resnet18"}), *task, seed=0,
                         on_epoch=lambda e, m, imp: seen.append((e, m["f1"])))
    assert [e for e, _ in seen] == [0, 1, 2, 3]
    assert result.best_f1 == max(f for _, f in seen) and result.best_epoch == int(np.argmax([f for _, f in seen]))
    # 3 of 18 classes present: the competition's macro F1 is over those 3 (src.labels.metrics).
    assert result.history[result.best_epoch]["accuracy"] > 0.9 and result.best_f1 > 0.9
    assert result.val_probs.shape == (48, 18)
    np.testing.assert_allclose(result.val_probs.sum(1), 1, rtol=1e-4)


@pytest.mark.pipeline
def test_same_seed_gives_identical_results_on_cpu(task):
    a = train_model(train_config({**CFG, "epochs": 2}), *task, seed=3)
    b = train_model(train_config({**CFG, "epochs": 2}), *task, seed=3)
    np.testing.assert_array_equal(a.val_probs, b.val_probs)
    assert a.history == b.history


class Interrupted(Exception):
    pass


@pytest.mark.pipeline
def test_resume_after_interruption_ends_like_an_uninterrupted_run(task, tmp_path):
    full = train_model(train_config(CFG), *task, seed=5)

    def die_after_first_epoch(epoch, metrics, improved):
        if epoch == 0:
            raise Interrupted

    checkpoint = tmp_path / "last.pt"
    with pytest.raises(Interrupted):
        train_model(train_config(CFG), *task, seed=5, on_epoch=die_after_first_epoch, resume_path=checkpoint)
    assert checkpoint.exists()
    epochs_seen = []
    resumed = train_model(train_config(CFG), *task, seed=5, resume_path=checkpoint,
                          on_epoch=lambda e, m, i: epochs_seen.append(e))
    assert epochs_seen == [1, 2]  # epoch 0 was not trained again
    assert resumed.history == full.history
    np.testing.assert_array_equal(resumed.val_probs, full.val_probs)


@pytest.mark.pipeline
def test_checkpoint_of_other_params_is_not_resumed(task, tmp_path):
    checkpoint = tmp_path / "last.pt"
    train_model(train_config({**CFG, "epochs": 1}), *task, seed=5, resume_path=checkpoint)
    epochs_seen = []
    train_model(train_config({**CFG, "epochs": 1, "lr": 0.001}), *task, seed=5, resume_path=checkpoint,
                on_epoch=lambda e, m, i: epochs_seen.append(e))
    assert epochs_seen == [0]  # trained from scratch, not resumed from the lr=0.01 run


@pytest.mark.pipeline
def test_checkpoint_of_other_code_is_not_resumed(task, tmp_path, monkeypatch, capsys):
    """dvc repro reruns train after a src/ edit: the old code's last.pt must not stand in for it."""
    import src.training.loop
    checkpoint = tmp_path / "last.pt"
    train_model(train_config({**CFG, "epochs": 1}), *task, seed=5, resume_path=checkpoint)
    capsys.readouterr()
    monkeypatch.setattr(src.training.loop, "code_digest", lambda: "edited source")
    epochs_seen = []
    train_model(train_config({**CFG, "epochs": 1}), *task, seed=5, resume_path=checkpoint,
                on_epoch=lambda e, m, i: epochs_seen.append(e))
    assert epochs_seen == [0]
    assert "from another run (params, data or code differ)" in capsys.readouterr().err


def test_code_digest_follows_the_source(tmp_path):
    from src.training.loop import code_digest
    (tmp_path / "a.py").write_text("x = 1\n")
    before = code_digest([tmp_path / "a.py"])
    assert code_digest([tmp_path / "a.py"]) == before
    (tmp_path / "a.py").write_text("x = 2\n")
    assert code_digest([tmp_path / "a.py"]) != before
    assert len(code_digest()) == 64  # the real, loaded modules


def ensemble_probs_of_fold_file(cfg, state, crops, path):
    """Write `state` as the train stage writes model.pt, and score `crops` with it as the ensemble stage
    scores a fold's validation rows (load_members + out_of_fold_probs, weights_only, no TTA)."""
    save_torch(path, checkpoint_payload(train_config(cfg), state))
    members = load_members([{"all": str(path)}], torch.device("cpu"))
    return out_of_fold_probs(members, [np.arange(len(crops))], crops, cfg["batch_size"], torch.device("cpu"), ())


@pytest.mark.pipeline
def test_model_file_holds_the_best_epoch_not_the_last(tmp_path, one_torch_thread):
    """model.pt is built from TrainResult.best_state; the ensemble's out-of-fold probabilities of the fold
    come from that file, the stage's oof_probs.csv from val_probs: both must be the best epoch's. Here the
    tiny model reaches its best F1 in its first epoch of 3 (a later tie is no improvement) and trains on."""
    train_x, train_y, val_x, val_y = colour_task(32, 0) + colour_task(16, 1)
    cfg = {**CFG, "model": "test_efficientnet", "epochs": 3, "patience": 5}
    result = train_model(train_config(cfg), train_x, train_y, val_x, val_y, seed=0, resume_path=tmp_path / "last.pt",
                         device=torch.device("cpu"))
    # The precondition that makes the check able to fail: the best epoch is not the last one, and the
    # last epoch's weights (the resume checkpoint's) predict the validation crops differently.
    assert result.best_epoch < result.epochs_run - 1, [epoch["f1"] for epoch in result.history]
    last_state = torch.load(tmp_path / "last.pt", map_location="cpu", weights_only=True)["model"]
    last_probs = ensemble_probs_of_fold_file(cfg, last_state, val_x, tmp_path / "last_model.pt")
    assert not np.allclose(last_probs, result.val_probs, rtol=0, atol=1e-3)

    probs = ensemble_probs_of_fold_file(cfg, result.best_state, val_x, tmp_path / "model.pt")
    np.testing.assert_allclose(probs, result.val_probs, rtol=0, atol=1e-6)
    assert load_fold_model(tmp_path / "model.pt", torch.device("cpu"))[1]["model"] == cfg["model"]


@pytest.mark.pipeline
def test_backbone_lr_zero_keeps_pretrained_backbone_and_trains_the_head(task, tmp_path):
    from src.models.networks import build_model
    source = build_model("resnet18", num_classes=18).net
    torch.save(source.state_dict(), tmp_path / "w.pt")
    cfg = {**CFG, "model": "resnet18", "pretrained": str(tmp_path / "w.pt"), "epochs": 1, "backbone_lr": 0.0,
           "warmup_epochs": 0.5, "optimizer": {"name": "SGD"}}  # SGD: a zero rate moves nothing
    trained = train_model(train_config(cfg), *task, seed=0).best_state
    assert torch.equal(trained["net.conv1.weight"], source.conv1.weight)
    assert torch.equal(trained["net.layer4.1.conv2.weight"], source.layer4[1].conv2.weight)
    assert not torch.equal(trained["net.fc.weight"], source.fc.weight)


@pytest.mark.pipeline
def test_frozen_stages_keep_stem_and_first_stages_and_the_file_round_trips(task, tmp_path):
    from src.models.networks import build_model
    source = build_model("resnet18", num_classes=18).net
    torch.save(source.state_dict(), tmp_path / "w.pt")
    cfg = {**CFG, "model": "resnet18", "pretrained": str(tmp_path / "w.pt"), "epochs": 2, "frozen_stages": 2}
    trained = train_model(train_config(cfg), *task, seed=0).best_state
    frozen = {"conv1.weight", "bn1.running_mean", "layer1.0.conv1.weight", "layer2.1.bn2.running_var"}
    learnt = {"layer3.0.conv1.weight", "layer4.1.bn2.running_var", "fc.weight"}
    reference = source.state_dict()
    assert all(torch.equal(trained[f"net.{key}"], reference[key]) for key in frozen)
    assert not any(torch.equal(trained[f"net.{key}"], reference[key]) for key in learnt)
    torch.save(checkpoint_payload(train_config(cfg), trained), tmp_path / "model.pt")  # the plain network: same keys
    model, _ = load_fold_model(tmp_path / "model.pt", torch.device("cpu"))
    images = torch.randint(0, 256, (2, 3, 32, 24), dtype=torch.uint8)
    expected = build_model("resnet18", frozen_stages=2, mean=CFG["mean"], std=CFG["std"])
    expected.load_state_dict(trained)
    torch.testing.assert_close(model(images), expected.eval()(images))


@pytest.mark.parametrize("clip_norm", [0.0, 0.01])
def test_grad_clip_norm_bounds_each_step(clip_norm):
    """train.grad_clip_norm: with plain SGD (lr 1) a step moves the weights by exactly the gradient, so the
    step's norm is the clipped gradient norm; unclipped, the same batch moves them far more."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Flatten(), torch.nn.LazyLinear(18))
    images, labels = torch.rand(8, 3, 8, 8) * 255, torch.arange(8)
    model(images)  # materialise the lazy layer
    before = torch.cat([p.detach().flatten().clone() for p in model.parameters()])
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    train_epoch(model, [(images, labels)], torch.nn.CrossEntropyLoss(), optimizer, None, scaler,
                torch.device("cpu"), clip_norm=clip_norm)
    moved = float(torch.linalg.vector_norm(torch.cat([p.detach().flatten() for p in model.parameters()]) - before))
    if clip_norm:
        assert moved == pytest.approx(clip_norm, rel=1e-3)
    else:
        assert moved > 1.0
