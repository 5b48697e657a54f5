import io
import socket

import pytest
import timm
import torch
import yaml

from src.common.errors import WeightsError
from src.models.backbone_weights import fetch_weights
from src.models.networks import build_model
from tests.helpers.workspace import REPO, run_stage


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network access attempted in a test")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.mark.parametrize("name", ["mobilenetv3_small_100", "resnet18"])
def test_forward_shape(name, no_network):
    model = build_model(name).eval()  # 18 classes by default
    with torch.no_grad():
        assert model(torch.randn(2, 3, 128, 96)).shape == (2, 18)


@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_local_weights_load_backbone_and_fresh_head(tmp_path, no_network, suffix):
    source = timm.create_model("resnet18", num_classes=5)
    path = tmp_path / f"weights{suffix}"
    if suffix == ".safetensors":
        from safetensors.torch import save_file
        save_file(source.state_dict(), str(path))
    else:
        torch.save({"state_dict": source.state_dict(), "epoch": 3}, path)  # a checkpoint dict
    model = build_model("resnet18", num_classes=18, pretrained=str(path)).net  # inside PixelInput
    assert torch.equal(model.conv1.weight, source.conv1.weight)
    assert torch.equal(model.layer4[1].bn2.running_var, source.layer4[1].bn2.running_var)
    assert model.fc.out_features == 18


def test_same_head_is_loaded_too(tmp_path):
    source = timm.create_model("mobilenetv3_small_100", num_classes=18)
    torch.save(source.state_dict(), tmp_path / "w.pt")
    model = build_model("mobilenetv3_small_100", pretrained=str(tmp_path / "w.pt")).net
    assert torch.equal(model.classifier.weight, source.classifier.weight)


def test_weights_of_another_architecture_fail(tmp_path):
    torch.save(timm.create_model("resnet18").state_dict(), tmp_path / "w.pth")
    with pytest.raises(WeightsError, match=r"^train.pretrained: '.*w\.pth' does not fit model mobilenetv3_small_100: "):
        build_model("mobilenetv3_small_100", pretrained=str(tmp_path / "w.pth"))


NOT_WEIGHTS = {
    "pickled_module": lambda path: torch.save(timm.create_model("resnet18"), path),  # the module, not its tensors
    "truncated": lambda path: path.write_bytes(saved(timm.create_model("resnet18").state_dict())[:5000]),
    "text": lambda path: path.write_text("not weights\n"),
    "no_tensors": lambda path: torch.save({"epoch": 3, "lr": 0.1}, path),
    "bad_safetensors": lambda path: path.with_suffix(".safetensors").write_bytes(b"\x08\x00" * 100),
}


def saved(obj):
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("kind", NOT_WEIGHTS)
def test_a_file_that_is_not_weights_fails_naming_it_and_what_it_should_hold(tmp_path, kind):
    """Training (build_model) and the weights stage (fetch_weights of a local file) both refuse it with the
    project's WeightsError, one line: the stage entry prints that line instead of a traceback."""
    path = tmp_path / "w.pth"
    NOT_WEIGHTS[kind](path)
    path = path if path.exists() else path.with_suffix(".safetensors")
    for load in (lambda: build_model("resnet18", pretrained=str(path)), lambda: fetch_weights("resnet18", str(path))):
        with pytest.raises(WeightsError) as caught:
            load()
        message = str(caught.value)
        assert message.startswith(f"train.pretrained: {str(path)!r} ") and "\n" not in message, message
        assert message.endswith("expected a state dict of tensors: a .safetensors file, or "
                                "torch.save(model.state_dict(), path) (a checkpoint dict holding one under "
                                "state_dict or model works too)"), message


def test_unknown_model_names_close_matches():
    with pytest.raises(ValueError, match=r"train\.model.*'resnet181'.*resnet18"):
        build_model("resnet181")


def test_missing_weights_file():
    with pytest.raises(FileNotFoundError, match=r"train\.pretrained.*nowhere\.pth"):
        build_model("resnet18", pretrained="/nowhere.pth")


def test_frozen_stages_fix_the_stem_and_first_stages_only():
    from src.models.networks import check_frozen_stages
    wrapped = build_model("resnet18", frozen_stages=2).train()
    model = wrapped.net
    fixed = {name.split(".")[0] for name, p in model.named_parameters() if not p.requires_grad}
    assert fixed == {"conv1", "bn1", "layer1", "layer2"}
    # in training mode the frozen BatchNorms keep their statistics, the others update theirs
    assert not model.bn1.training and not model.layer2[1].bn2.training and model.layer3[0].bn1.training
    before = {k: v.clone() for k, v in model.state_dict().items()}
    wrapped(torch.randint(0, 256, (4, 3, 64, 48), dtype=torch.uint8)).sum().backward()
    assert torch.equal(model.layer2[1].bn2.running_mean, before["layer2.1.bn2.running_mean"])
    assert not torch.equal(model.layer3[0].bn1.running_mean, before["layer3.0.bn1.running_mean"])
    assert model.conv1.weight.grad is None and model.layer2[1].conv2.weight.grad is None
    assert model.layer3[0].conv1.weight.grad is not None
    with pytest.raises(ValueError, match=r"train.frozen_stages: resnet18 has stages 1..4 after its stem; got 5"):
        check_frozen_stages("resnet18", 5, "packaged")
    with pytest.raises(ValueError, match=r"train.frozen_stages: 2 would fix randomly initialised layers"):
        check_frozen_stages("resnet18", 2, "none")


@pytest.mark.pipeline
def test_weights_stage_refuses_a_pickled_module_with_one_line(tmp_path):
    """`python -m stages.weights` with train.pretrained a whole pickled model: exit 1 and the one line of
    WeightsError (the weights stage's name, the file, what it should hold), no traceback."""
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    torch.save(timm.create_model("resnet18"), tmp_path / "w.pth")
    params["train"].update(model="resnet18", pretrained=str(tmp_path / "w.pth"), frozen_stages=0)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    done = run_stage(["python", "-m", "stages.weights"], tmp_path, {"PYTHONPATH": str(REPO)})
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr[-3000:]
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(f"weights: train.pretrained: {str(tmp_path / 'w.pth')!r} is not a weights file") and \
        "expected a state dict of tensors" in last, last
    assert not (tmp_path / "weights").exists()
