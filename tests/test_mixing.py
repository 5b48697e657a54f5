"""CutMix / MixUp: timm's Mixup and the vertical band; soft targets match the pixels mixed."""
import numpy as np
import pytest
import torch

from src.config.params import block_config
from src.labels.classes import NUM_CLASSES
from src.training.mixing import Mixer, build_mixer, vertical_cutmix


def mix(**keys):
    """The TrainMix config of train.mix = keys (checked and completed as in params.yaml)."""
    return block_config("train.mix", keys)


def batch(n=4, h=8, w=10):
    # image i is filled with the value i: every pixel says which image it came from
    return torch.arange(n, dtype=torch.float32)[:, None, None, None].expand(n, 3, h, w).clone()


@pytest.mark.parametrize("lam", [0.0, 0.3, 0.75, 1.0])
def test_vertical_cutmix_pastes_a_full_height_band_with_its_area_share(lam):
    images = batch()
    kept = vertical_cutmix(images, lam, np.random.default_rng(0))
    from_partner = images != batch()  # pixels taken from the flipped batch
    columns = from_partner[0, 0].any(0)
    assert (from_partner[0, 0][:, columns]).all()  # every row of the band: full height
    band = int(columns.sum())
    if band:
        first = int(columns.float().argmax())
        assert columns[first:first + band].all()  # one contiguous band
    assert kept == pytest.approx(1 - band / images.shape[-1])
    assert float((images[0] == 0).float().mean()) == pytest.approx(kept)  # area share of the original
    assert band == round(images.shape[-1] * (1 - lam))


def test_vertical_mixer_target_weight_equals_the_band_area_share():
    mixer = Mixer(mix(cutmix_alpha=1.0, vertical=True))
    mixer.set_seed(1)
    labels = torch.tensor([0, 5, 9, 17])
    for _ in range(5):
        images, target = mixer(batch(), labels)
        assert target.shape == (4, NUM_CLASSES)
        torch.testing.assert_close(target.sum(1), torch.ones(4))
        own_share = (images[:, 0] == batch()[:, 0]).float().mean((1, 2))
        # image i keeps own_share of its pixels; partner is image 3 - i
        for i in range(4):
            expected = torch.zeros(NUM_CLASSES)
            expected[labels[i]] += own_share[i]
            expected[labels[3 - i]] += 1 - own_share[i]
            torch.testing.assert_close(target[i], expected)


def test_timm_mixup_gives_soft_targets_and_odd_batches_pass_unmixed():
    mixer = build_mixer(mix(mixup_alpha=0.4, cutmix_alpha=1.0, label_smoothing=0.1), "cross_entropy")
    mixer.set_seed(0)
    images, target = mixer(batch(), torch.tensor([0, 1, 2, 3]))
    torch.testing.assert_close(target.sum(1), torch.ones(4))
    odd = batch(3)
    images, target = mixer(odd.clone(), torch.tensor([0, 1, 2]))
    torch.testing.assert_close(images, odd)
    assert target[0, 0] == pytest.approx(0.9 + 0.1 / NUM_CLASSES)


def test_mixing_is_off_by_default_and_refused_with_ldam():
    assert build_mixer(mix(), "cross_entropy") is None
    assert build_mixer(mix(mixup_alpha=0.0, cutmix_alpha=0.0), "ldam") is None
    with pytest.raises(ValueError, match="ldam"):
        build_mixer(mix(cutmix_alpha=1.0), "ldam")
    with pytest.raises(ValueError, match=r"unknown key 'train\.mix\.alpha'"):  # the params check's
        mix(cutmix_alpha=1.0, alpha=1)


def test_same_seed_same_mix():
    a, b = build_mixer(mix(mixup_alpha=0.4, cutmix_alpha=1.0, vertical=True), "focal"), \
        build_mixer(mix(mixup_alpha=0.4, cutmix_alpha=1.0, vertical=True), "focal")
    a.set_seed(7)
    first = [a(batch(), torch.arange(4)) for _ in range(4)]
    b.set_seed(7)
    for images, target in first:
        other = b(batch(), torch.arange(4))
        torch.testing.assert_close(images, other[0])
        torch.testing.assert_close(target, other[1])
