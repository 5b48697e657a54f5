"""params.yaml is checked before any work: typos, types, ranges and names fail with the key named."""
import copy
import re

import pytest

from src.config.params import ParamsError, check_params, load_params, read_params_file
from src.config.schema import REQUIRED as REQUIRED_DEFAULT
from stages.plumbing.name_checks import check_all
from tests.helpers import REPO


@pytest.fixture(scope="module")
def params():
    return read_params_file(REPO / "params.yaml")  # as read: the tests edit it


def edit(params, change):
    changed = copy.deepcopy(params)
    change(changed)
    return changed


@pytest.mark.parametrize("change, expected", [
    (lambda p: p.update(trian={"lr": 0.1}), r"^params.yaml: unknown key 'trian.lr'; did you mean train.lr\?$"),
    (lambda p: p.update(lr=0.1), r"^params.yaml: unknown key 'lr'; did you mean train.lr\?$"),
    (lambda p: p["train"].update(batch=8), r"^params.yaml: unknown key 'train.batch'; did you mean train.batch_size\?$"),
    (lambda p: p["train"].update(lr=-0.001), r"train.lr = -0.001: expected a number in \(0, inf\]"),
    (lambda p: p["train"].update(epochs="ten"), r"train.epochs = 'ten': expected an integer"),
    (lambda p: p["split"].update(k=1), r"split.k = 1: expected an integer in \[2, inf\]"),
    (lambda p: (p["split"].update(k=5), p["train"].update(folds=[0, 5])),
     r"train.folds: fold 5 is outside 0..4 \(split.k = 5\)"),
    (lambda p: p["data"].update(age_bins=[60, 30]), r"data.age_bins = \[60, 30\]: expected increasing"),
    (lambda p: p["data"].update(on_bad_image="ignore"), r"data.on_bad_image = 'ignore': expected one of"),
    (lambda p: p["face_crop"].update(detect_scale=0), r"face_crop.detect_scale = 0"),
    (lambda p: p["train"].update(model="resnet181"), r"train.model: unknown timm model 'resnet181'.*resnet18"),
    (lambda p: p["train"].update(loss={"name": "focall"}), r"train.loss: unknown loss 'focall'.*'focal'"),
    (lambda p: p["train"].update(optimizer={"name": "Adamw"}), r"train.optimizer.*'Adamw'.*AdamW"),
    (lambda p: p["train"].update(scheduler={"name": "Cosine"}), r"train.scheduler.*'Cosine'"),
    (lambda p: p["train"].update(sampler="balanced"), r"train.sampler.*'balanced'.*imbalanced"),
    (lambda p: p["train"].update(augment=[{"name": "GaussNoise", "var_limit": [10, 50]}]),
     r"train.augment: GaussNoise does not accept argument\(s\) \['var_limit'\]"),
    (lambda p: p["train"].update(augment=[{"name": "HorizontalFlipp"}]), r"train.augment.*'HorizontalFlipp'"),
    (lambda p: p["ensemble"].update(tta=["vflip"]), r"ensemble.tta: unknown view 'vflip'; valid: \['hflip'\]"),
    (lambda p: p["face_crop"].update(detector="retina"), r"face_crop.detector: unknown detector 'retina'"),
    (lambda p: (p["split"].update(k=5), p["tune"].update(fold=9)), r"tune.fold = 9: outside 0..4 \(split.k = 5\)"),
    # names from the registry that implements them (src.models, src.inference, src.labels), not a list in the schema
    (lambda p: p["train"].update(heads="mutli"), r"train.heads: unknown kind 'mutli'.*'multi'"),
    (lambda p: p["ensemble"].update(decision="macro-f1"), r"ensemble.decision: unknown decision rule 'macro-f1'.*"
                                                           r"'macro_f1'"),
    (lambda p: p["train"].update(members={"method": "boosting"}), r"train.members.method: unknown method 'boosting'"),
    (lambda p: p["train"].update(tasks=["age", "mood"]), r"train.tasks = \['age', 'mood'\]: expected a list of one of "
                                                         r"\['all', 'mask', 'gender', 'age'\]"),
    (lambda p: p.update(device="gpu"), r"device = 'gpu': expected auto, cpu, cuda or cuda:N"),
    (lambda p: p["train"].pop("lr"), r"missing key 'train.lr'"),
])
def test_bad_params_fail_naming_key_value_and_expectation(params, change, expected):
    with pytest.raises(ValueError, match=expected):
        check_all(edit(params, change))


def test_shipped_params_are_valid(params):
    check_all(params)


def test_load_uses_safe_yaml(tmp_path):
    unsafe = tmp_path / "params.yaml"
    ran = tmp_path / "ran"
    unsafe.write_text(f"seed: !!python/object/apply:os.mkdir ['{ran}']\n")
    # safe loading refuses the python tag and nothing runs; the message names the file and the line (the
    # reason in parentheses is PyYAML's own wording)
    with pytest.raises(ParamsError, match=rf"^{re.escape(str(unsafe))}: line 1, column 7: not valid YAML \(.+\); "):
        load_params(unsafe)
    assert not ran.exists()


def test_a_key_given_twice_is_refused_naming_both_lines(tmp_path):
    twice = tmp_path / "params.yaml"
    twice.write_text((REPO / "params.yaml").read_text() + "device: cpu\n")
    first = next(n for n, line in enumerate((REPO / "params.yaml").read_text().splitlines(), 1)
                 if line.startswith("device:"))
    with pytest.raises(ParamsError, match=rf"params.yaml: line \d+, column 1: not valid YAML \(key 'device' given twice "
                                          rf"\(first on line {first}\)\)"):
        load_params(twice)


def test_light_stages_check_every_key_without_importing_torch(params, tmp_path):
    """split and evaluate load params without stages.plumbing.name_checks: every key, type and range is still checked,
    the names (model, transforms, loss...) are left to the stages that build them."""
    import subprocess
    import sys
    code = ("import sys; from src.config.params import load_params; load_params('params.yaml'); "
            "print(sorted(m for m in ('torch', 'timm', 'albumentations') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    unknown_model = edit(params, lambda p: p["train"].update(model="resnet181"))
    check_params(unknown_model)
    with pytest.raises(ParamsError, match=r"^params.yaml: train.model: unknown timm model 'resnet181'"):
        check_all(unknown_model)
    with pytest.raises(ValueError, match=r"unknown key 'train.lrr'"):
        check_params(edit(params, lambda p: p["train"].update(lrr=0.1)))


def test_params_reference_is_generated_from_the_schema():
    """docs/params.md is `python -m src.config.schema`'s output: regenerate it after editing the schema."""
    from src.config.schema import reference
    assert (REPO / "docs" / "params.md").read_text() == reference()


def test_params_are_built_once_typed_read_only_with_every_default():
    import dataclasses

    from src.config.params import flatten, read_params_file, train_config
    from src.config.schema import SCHEMA
    from src.config.tree import Frozen, thaw
    raw = read_params_file(REPO / "params.yaml")
    built = load_params(REPO / "params.yaml")
    flat = flatten(thaw(built))
    assert set(flat) == set(SCHEMA)  # one field per key, every absent optional key filled
    for key, value in flatten(raw).items():
        assert flat[key] == value, key  # the file's values as read
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.train.lr = 1.0
    with pytest.raises(TypeError, match="read-only"):
        built.train.optimizer["lr"] = 1.0
    assert isinstance(built.train.optimizer, Frozen) and isinstance(built.train.augment, tuple)
    small = train_config({**thaw(built.train), "mix": {"cutmix_alpha": 1.0}, "heads": "single"}
                         | {"pretrained": "none"})
    assert small.mix.cutmix_alpha == 1.0 and small.mix.prob == SCHEMA["train.mix.prob"].default
    assert dataclasses.replace(small, lr=0.1).lr == 0.1 and small.lr == built.train.lr
    for key, param in SCHEMA.items():  # each default passes its own check
        assert param.default is REQUIRED_DEFAULT or not param.check(param.default), key
    check_params(raw)  # raises on a problem: params.yaml may choose other than the defaults (heads multi)
