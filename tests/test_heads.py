"""heads=multi: 18-class logits that are the product of the mask / gender / age heads; every loss
trains for single and multi heads; the checkpoint rebuilds the right model."""
import numpy as np
import pytest
import torch

from src.config.params import train_config
from src.labels.classes import NUM_CLASSES, decode_class, encode_class
from src.models.fold_model import load_fold_model
from src.models.heads import MultiHeadNet, combine_heads, split_heads, split_targets
from src.models.networks import build_model
from src.training.loop import train_model
from src.training.losses import MultiHeadLoss
from tests.test_training import CFG, colour_task, ensemble_probs_of_fold_file

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY = {**CFG, "model": "test_efficientnet", "epochs": 1, "batch_size": 16}


@pytest.fixture(scope="module")
def task():
    return colour_task(32, 0) + colour_task(16, 1)


def test_class_mapping_round_trips_all_18():
    seen = set()
    for label in range(NUM_CLASSES):
        mask, gender, age = decode_class(label)
        assert 0 <= mask < 3 and 0 <= gender < 2 and 0 <= age < 3
        assert encode_class(mask, gender, age) == label
        seen.add((mask, gender, age))
    assert len(seen) == NUM_CLASSES
    labels = np.arange(NUM_CLASSES)
    np.testing.assert_array_equal(encode_class(*decode_class(labels)), labels)


def test_product_probabilities_equal_the_product_of_head_softmaxes():
    torch.manual_seed(0)
    heads = {"mask": torch.randn(5, 3), "gender": torch.randn(5, 2), "age": torch.randn(5, 3)}
    probs = torch.softmax(combine_heads(heads), dim=1)
    torch.testing.assert_close(probs.sum(1), torch.ones(5))
    p = {k: torch.softmax(v, dim=1) for k, v in heads.items()}
    for label in range(NUM_CLASSES):
        m, g, a = decode_class(label)
        torch.testing.assert_close(probs[:, label], p["mask"][:, m] * p["gender"][:, g] * p["age"][:, a])
    # the loss reads each head back exactly from the 18-class logits
    for name, logp in split_heads(combine_heads(heads)).items():
        torch.testing.assert_close(logp, torch.log_softmax(heads[name], dim=1))


def test_soft_targets_split_into_head_marginals():
    target = torch.zeros(1, NUM_CLASSES)
    target[0, encode_class(0, 1, 2)], target[0, encode_class(2, 1, 0)] = 0.7, 0.3
    heads = split_targets(target)
    torch.testing.assert_close(heads["mask"], torch.tensor([[0.7, 0.0, 0.3]]))
    torch.testing.assert_close(heads["gender"], torch.tensor([[0.0, 1.0]]))
    torch.testing.assert_close(heads["age"], torch.tensor([[0.3, 0.0, 0.7]]))
    hard = split_targets(torch.tensor([encode_class(1, 0, 2)]))
    assert [int(hard[k]) for k in ("mask", "gender", "age")] == [1, 0, 2]


def test_multi_head_loss_is_the_weighted_sum_of_head_cross_entropies():
    torch.manual_seed(1)
    heads = {"mask": torch.randn(4, 3), "gender": torch.randn(4, 2), "age": torch.randn(4, 3)}
    labels = torch.tensor([0, 7, 13, 17])
    loss = MultiHeadLoss({"name": "cross_entropy"}, np.ones(18), {"mask": 2.0, "gender": 1.0, "age": 0.5})
    m, g, a = decode_class(labels)
    ce = torch.nn.functional.cross_entropy
    expected = 2 * ce(heads["mask"], m) + ce(heads["gender"], g) + 0.5 * ce(heads["age"], a)
    torch.testing.assert_close(loss(combine_heads(heads), labels), expected)


def test_multi_head_model_returns_18_class_logits():
    model = build_model("test_efficientnet", heads="multi").eval()
    assert isinstance(model.net, MultiHeadNet)  # inside PixelInput
    out = model(torch.randn(3, 3, 32, 24))
    assert out.shape == (3, NUM_CLASSES)
    torch.testing.assert_close(torch.softmax(out, 1).sum(1), torch.ones(3))


LOSSES = [{"name": "cross_entropy"}, {"name": "focal"}, {"name": "label_smoothing"}, {"name": "f1"},
          {"name": "ldam", "drw_epoch": 0}]


@pytest.mark.parametrize("heads", ["single", "multi"])
@pytest.mark.parametrize("loss", LOSSES, ids=[spec["name"] for spec in LOSSES])
def test_every_loss_trains_with_single_and_multi_heads(task, heads, loss):
    """Three epochs on the colour task: the loss falls and the model learns the classes."""
    result = train_model(train_config({**TINY, "heads": heads, "loss": loss, "epochs": 3}), *task, seed=0)
    losses = [epoch["train_loss"] for epoch in result.history]
    assert np.isfinite(losses).all() and losses[-1] < losses[0], losses
    # The colour tells the class: high accuracy, far above chance (1/3), not exactly 1.0 (ties and
    # last-bit differences of another CPU or library release may cost a crop).
    best = result.history[result.best_epoch]
    assert best["accuracy"] >= 0.9 and result.best_f1 >= 0.9, result.history
    assert result.val_probs.shape == (16, NUM_CLASSES)
    np.testing.assert_allclose(result.val_probs.sum(1), 1, rtol=1e-4)


def test_multi_head_checkpoint_rebuilds_the_multi_head_model(task, tmp_path):
    """The file of a heads=multi model rebuilds the multi-head network, which predicts what training saw."""
    cfg = {**TINY, "heads": "multi"}
    result = train_model(train_config(cfg), *task, seed=0, device=torch.device("cpu"))  # the device the file is scored on
    probs = ensemble_probs_of_fold_file(cfg, result.best_state, task[2], tmp_path / "model.pt")
    model, checkpoint = load_fold_model(tmp_path / "model.pt", torch.device("cpu"))
    assert checkpoint["heads"] == "multi" and isinstance(model.net, MultiHeadNet)
    np.testing.assert_allclose(probs, result.val_probs, rtol=0, atol=1e-6)


def test_new_options_keep_same_seed_identical_results(task):
    cfg = {**TINY, "epochs": 2, "heads": "multi", "resample": {"min_count": 12, "max_count": 20},
           "mix": {"mixup_alpha": 0.4, "cutmix_alpha": 1.0, "vertical": True, "switch_prob": 0.5}}
    a, b = train_model(train_config(cfg), *task, seed=3), train_model(train_config(cfg), *task, seed=3)
    np.testing.assert_array_equal(a.val_probs, b.val_probs)
    assert a.history == b.history
