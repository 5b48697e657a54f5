import warnings

import numpy as np
import pytest
import torch

from src.data.crop_dataset import CropDataset, collate_pixels, make_loader
from src.models.networks import PixelInput, build_model
from src.config.params import load_params
from src.training.transforms import TRANSFORMS, build_transform
from tests.helpers import REPO

SHIPPED_AUGMENT = load_params(REPO / "params.yaml").train.augment  # the recipe the pipeline trains with


def face(h=128, w=96, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.mark.parametrize("size", [(128, 96), (96, 96)])
def test_default_train_keeps_shape_and_dtype(size):
    tf = build_transform(SHIPPED_AUGMENT, train=True)
    for seed in range(10):
        out = tf(image=face(*size, seed=seed))["image"]
        assert isinstance(out, np.ndarray) and out.dtype == np.uint8  # float work is per batch, not per image
        assert out.shape == (*size, 3)


def test_default_train_augments():
    tf = build_transform(SHIPPED_AUGMENT, train=True)
    img = face()
    assert any(not np.array_equal(tf(image=img)["image"], tf(image=img)["image"]) for _ in range(5))


def test_eval_uses_crops_as_stored():
    assert build_transform(SHIPPED_AUGMENT, train=False) is None
    crops = np.stack([face(seed=s) for s in range(5)])
    images, labels = next(iter(make_loader(CropDataset(crops, None, None), 5, 0)))
    assert images.dtype == torch.uint8 and images.shape == (5, 3, 128, 96)
    assert torch.equal(images, torch.from_numpy(crops).permute(0, 3, 1, 2))
    assert labels.tolist() == [-1] * 5


def test_collate_gives_channels_last_uint8_pixels_and_labels():
    batch = [(face(seed=s), s) for s in range(3)]
    images, labels = collate_pixels(batch)
    assert images.dtype == torch.uint8 and images.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(images[1], torch.from_numpy(batch[1][0]).permute(2, 0, 1))
    assert labels.dtype == torch.int64 and labels.tolist() == [0, 1, 2]


def test_model_normalises_pixels_with_its_mean_and_std():
    """PixelInput: the network sees (pixels / 255 - mean) / std, and the constants live in the state_dict."""
    seen = []
    net = torch.nn.Identity()
    net.register_forward_hook(lambda module, args, out: seen.append(out))
    model = PixelInput(net, (0.5, 0.4, 0.3), (0.2, 0.25, 0.5))
    raw = torch.from_numpy(face()).permute(2, 0, 1)[None]  # uint8, as the loaders give it
    pixels = raw.float()
    model(raw)
    model(pixels)
    mean, std = torch.tensor([0.5, 0.4, 0.3]).view(1, 3, 1, 1), torch.tensor([0.2, 0.25, 0.5]).view(1, 3, 1, 1)
    assert seen[0].dtype == torch.float32
    assert torch.allclose(seen[0], (pixels / 255 - mean) / std, atol=1e-5)
    assert torch.equal(seen[0], seen[1])  # uint8 and float pixels give the network the same input
    restored = build_model("test_efficientnet", mean=(0.1, 0.1, 0.1), std=(1.0, 1.0, 1.0))
    restored.load_state_dict(build_model("test_efficientnet", mean=(0.5, 0.4, 0.3), std=(0.2, 0.25, 0.5)).state_dict())
    assert torch.allclose(restored.scale, model.scale) and torch.allclose(restored.shift, model.shift)
    with pytest.raises(ValueError, match="std > 0"):
        PixelInput(net, (0.5, 0.5, 0.5), (0.2, 0.0, 0.2))


def test_default_recipe_builds_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        build_transform(SHIPPED_AUGMENT, train=True)
    assert [t["name"] for t in SHIPPED_AUGMENT] == [
        "HorizontalFlip", "Affine", "RandomBrightnessContrast", "HueSaturationValue", "GaussNoise"]


def test_empty_spec_means_no_augmentation():
    assert build_transform([], train=True) is None


def test_unknown_name_suggests_close_matches():
    with pytest.raises(ValueError, match=r"train\.augment.*'HorizontalFlipp'.*close matches.*'HorizontalFlip'"):
        build_transform([{"name": "HorizontalFlipp"}], train=True)
    # invalid even when the augmentations would not be applied: fail before training
    with pytest.raises(ValueError, match="valid: .*VerticalFlip"):
        build_transform([{"name": "Nope"}], train=False)


def test_gaussnoise_var_limit_is_an_error():
    with pytest.raises(ValueError, match=r"train\.augment.*GaussNoise.*'var_limit'.*std_range"):
        build_transform([{"name": "GaussNoise", "var_limit": [10, 50]}], train=True)


def test_bad_argument_value_is_explained():
    with pytest.raises(ValueError, match=r"train\.augment: Affine: bad argument.*rotate"):
        build_transform([{"name": "Affine", "rotate": "a lot"}], train=True)
    with pytest.raises(ValueError, match=r"train\.augment: GaussNoise: bad argument.*std_range"):
        build_transform([{"name": "GaussNoise", "std_range": [0.5, 0.1]}], train=True)
    with pytest.raises(ValueError, match=r"train\.augment: HorizontalFlip: bad argument.*p"):
        build_transform([{"name": "HorizontalFlip", "p": 2}], train=True)


def test_normalize_is_not_allowed_in_spec():
    with pytest.raises(ValueError, match="done by the pipeline itself"):
        build_transform([{"name": "Normalize"}], train=True)
    assert "Normalize" not in TRANSFORMS and "HorizontalFlip" in TRANSFORMS


def test_entry_without_name():
    with pytest.raises(ValueError, match="train.augment.*'name'"):
        build_transform([{"p": 0.5}], train=True)
