"""checks/params/<stage>.json: each stage's params values, the dependency that keeps DVC's run cache
from restoring another run's outputs when only a key named `size` changed (stages/plumbing/stage_params.py;
the user-level check is tests/test_experiments.py)."""
import json

import pytest
import yaml

from src.common.errors import BadInputError
from stages.plumbing.stage_params import listed_params, stage_param_values, write_stage_params
from tests.helpers.workspace import REPO

DVC_YAML = REPO / "dvc.yaml"


def test_every_stage_with_params_depends_on_its_params_file():
    stages = yaml.safe_load(DVC_YAML.read_text())["stages"]
    listed = listed_params(DVC_YAML)
    assert {"face_crop", "weights", "split", "train", "ensemble", "predict", "evaluate", "tune"} <= set(listed)
    for name in listed:
        assert f"checks/params/{name}.json" in stages[name]["deps"], name
    assert "checks/params" in stages["check_params"]["outs"]


def test_files_hold_the_listed_values_and_change_with_a_size(tmp_path):
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    written = write_stage_params(tmp_path, DVC_YAML, params)
    assert written == sorted(listed_params(DVC_YAML))
    weights = json.loads((tmp_path / "weights.json").read_text())
    assert weights == {"train.model": params["train"]["model"], "train.pretrained": params["train"]["pretrained"]}
    before = (tmp_path / "face_crop.json").read_bytes()
    params["face_crop"]["size"] = [40, 28]
    write_stage_params(tmp_path / "new", DVC_YAML, params)
    assert (tmp_path / "new" / "face_crop.json").read_bytes() != before
    assert json.loads((tmp_path / "new" / "face_crop.json").read_text())["face_crop"]["size"] == [40, 28]
    for name in written:  # other stages' files, hence their runs, stay as they were
        if name != "face_crop":
            assert (tmp_path / "new" / f"{name}.json").read_bytes() == (tmp_path / f"{name}.json").read_bytes()


def test_a_listed_key_params_yaml_lacks_is_named():
    with pytest.raises(BadInputError, match=r"stage weights: lists param 'train.pretrained', which params.yaml "
                                            r"does not have"):
        stage_param_values(DVC_YAML, {"device": "auto", "train": {"model": "resnet18"}, "face_crop": {}, "data": {}})
