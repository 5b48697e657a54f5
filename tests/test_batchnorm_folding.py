"""Inference copies with BatchNorms folded into their convolutions: the same outputs as the network,
every timm BatchNorm folded, the network left as it was, and no copy when folding would change the outputs."""
import numpy as np
import pytest
import torch
from torch import nn

from bench.batchnorm_folding import with_learned_statistics
from src.inference.predict import predict_probs
from src.models.batchnorm_folding import conv_batchnorm_pairs, fold_batchnorms
from src.models.networks import build_model

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def pixels(n=4, seed=1):
    return torch.randint(0, 256, (n, 3, 64, 48), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("heads", ["single", "multi"])
def test_every_batchnorm_of_a_timm_network_is_folded_and_the_outputs_agree(heads):
    model = with_learned_statistics(build_model("test_efficientnet", heads=heads))
    batchnorms = sum(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    folded, count = fold_batchnorms(model, pixels(2))
    assert batchnorms > 0 and count == batchnorms
    assert not any(isinstance(m, nn.BatchNorm2d) for m in folded.modules())
    assert sum(isinstance(m, nn.BatchNorm2d) for m in model.modules()) == batchnorms  # the network is untouched
    with torch.no_grad():
        expected, got = model(pixels()), folded(pixels())
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)


def test_predict_gives_the_networks_own_probabilities():
    model = with_learned_statistics(build_model("test_efficientnet", heads="multi"), seed=3)
    crops = pixels(10, seed=4).permute(0, 2, 3, 1).contiguous().numpy()  # N x H x W x 3, as stored
    with torch.no_grad():
        expected = torch.softmax(model(torch.from_numpy(crops).permute(0, 3, 1, 2)), dim=1).numpy()
    np.testing.assert_allclose(predict_probs(model, crops, 4, torch.device("cpu")), expected, atol=1e-5)
    np.testing.assert_allclose(predict_probs(model, crops, 4, torch.device("cpu"), fold=False), expected, atol=1e-5)


class SharedConvOutput(nn.Module):
    """The convolution's output goes to the BatchNorm and, unnormalised, to the sum: not foldable."""

    def __init__(self):
        super().__init__()
        self.conv, self.bn = nn.Conv2d(3, 3, 3, padding=1), nn.BatchNorm2d(3)

    def forward(self, x):
        y = self.conv(x.float())
        return (self.bn(y) + y).mean((2, 3))


def test_a_network_whose_outputs_folding_would_change_is_used_as_it_is():
    model = with_learned_statistics(SharedConvOutput())
    assert conv_batchnorm_pairs(model, pixels(2)) == [("conv", "bn")]  # it looks foldable
    folded, count = fold_batchnorms(model, pixels(2))
    assert folded is model and count == 0


def test_a_batchnorm_fed_by_something_else_is_left_alone():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.BatchNorm2d(4), nn.Flatten())
    assert conv_batchnorm_pairs(with_learned_statistics(model), pixels(2).float()) == []
    assert fold_batchnorms(model, pixels(2).float()) == (model, 0)
