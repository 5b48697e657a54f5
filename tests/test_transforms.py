import warnings

import numpy as np
import pytest
import torch

from src.transforms import DEFAULT_AUGMENT, TRANSFORMS, build_transform

MEAN, STD = (0.5, 0.5, 0.5), (0.2, 0.2, 0.2)


def face(h=128, w=96, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.mark.parametrize("size", [(128, 96), (96, 96)])
def test_default_train_keeps_shape_and_dtype(size):
    tf = build_transform(DEFAULT_AUGMENT, MEAN, STD, train=True)
    for seed in range(10):
        out = tf(image=face(*size, seed=seed))["image"]
        assert isinstance(out, torch.Tensor) and out.dtype == torch.float32
        assert out.shape == (3, *size)


def test_default_train_augments():
    tf = build_transform(DEFAULT_AUGMENT, MEAN, STD, train=True)
    img = face()
    assert any(not torch.equal(tf(image=img)["image"], tf(image=img)["image"]) for _ in range(5))


def test_eval_is_deterministic_normalisation_only():
    tf = build_transform(DEFAULT_AUGMENT, MEAN, STD, train=False)
    img = face()
    a, b = tf(image=img)["image"], tf(image=img)["image"]
    assert torch.equal(a, b)
    expected = (torch.from_numpy(img).permute(2, 0, 1).float() / 255 - 0.5) / 0.2
    assert torch.allclose(a, expected, atol=1e-5)


def test_default_recipe_builds_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        build_transform(DEFAULT_AUGMENT, MEAN, STD, train=True)
    assert [t["name"] for t in DEFAULT_AUGMENT] == [
        "HorizontalFlip", "Affine", "RandomBrightnessContrast", "HueSaturationValue", "GaussNoise"]


def test_empty_spec():
    assert build_transform([], MEAN, STD, train=True)(image=face())["image"].shape == (3, 128, 96)


def test_unknown_name_suggests_close_matches():
    with pytest.raises(ValueError, match=r"train\.augment.*'HorizontalFlipp'.*close matches.*'HorizontalFlip'"):
        build_transform([{"name": "HorizontalFlipp"}], MEAN, STD, train=True)
    # invalid even when the augmentations would not be applied: fail before training
    with pytest.raises(ValueError, match="valid names: .*VerticalFlip"):
        build_transform([{"name": "Nope"}], MEAN, STD, train=False)


def test_gaussnoise_var_limit_is_an_error():
    with pytest.raises(ValueError, match=r"train\.augment.*GaussNoise.*'var_limit'.*std_range"):
        build_transform([{"name": "GaussNoise", "var_limit": [10, 50]}], MEAN, STD, train=True)


def test_bad_argument_value_is_explained():
    with pytest.raises(ValueError, match=r"train\.augment: Affine: bad argument.*rotate"):
        build_transform([{"name": "Affine", "rotate": "a lot"}], MEAN, STD, train=True)
    with pytest.raises(ValueError, match=r"train\.augment: GaussNoise: bad argument.*std_range"):
        build_transform([{"name": "GaussNoise", "std_range": [0.5, 0.1]}], MEAN, STD, train=True)
    with pytest.raises(ValueError, match=r"train\.augment: HorizontalFlip: bad argument.*p"):
        build_transform([{"name": "HorizontalFlip", "p": 2}], MEAN, STD, train=True)


def test_normalize_is_not_allowed_in_spec():
    with pytest.raises(ValueError, match="appended automatically"):
        build_transform([{"name": "Normalize"}], MEAN, STD, train=True)
    assert "Normalize" not in TRANSFORMS and "HorizontalFlip" in TRANSFORMS


def test_entry_without_name():
    with pytest.raises(ValueError, match="train.augment.*'name'"):
        build_transform([{"p": 0.5}], MEAN, STD, train=True)
