"""params.yaml's one `device` key: resolved the same way by every stage, said in one line, and a GPU torch
cannot use is refused with the reason (torch's CUDA functions are replaced to play each machine)."""
import pytest
import torch

from src.common import device as dev
from src.config.tree import build
from src.common.device import DeviceError, describe, resolve_device, resolve_workers, stage_device


class FakeCuda:
    """torch.cuda as a machine with `count` GPUs of `capability` that a build for `archs` sees."""

    def __init__(self, monkeypatch, available=True, count=1, capability=(9, 0), archs=("sm_75", "sm_80", "sm_90"),
                 init_error=None, nvidia=True, cuda_version="13.0"):
        monkeypatch.setattr(torch.version, "cuda", cuda_version)
        monkeypatch.setattr(torch.cuda, "is_available", lambda: available)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: count)
        monkeypatch.setattr(torch.cuda, "get_device_capability", lambda index=0: capability)
        monkeypatch.setattr(torch.cuda, "get_arch_list", lambda: list(archs))
        monkeypatch.setattr(torch.cuda, "get_device_name", lambda index=0: "NVIDIA Test GPU")
        monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
        monkeypatch.setattr(dev, "nvidia_present", lambda: nvidia)

        def init():
            if init_error:
                raise RuntimeError(init_error)
        monkeypatch.setattr(torch.cuda, "init", init)


def test_cpu_is_always_usable_and_said(capsys):
    device = stage_device(build({"device": "cpu"}))
    assert device == torch.device("cpu")
    line = capsys.readouterr().out.strip()
    assert line.startswith("device: cpu (torch ") and torch.__version__ in line


def test_auto_uses_a_usable_gpu_and_names_it(monkeypatch):
    FakeCuda(monkeypatch)
    device, note = resolve_device("auto")
    assert device.type == "cuda" and note == ""
    assert describe(torch.device("cuda:0")) == f"device: cuda:0 (NVIDIA Test GPU, torch {torch.__version__})"


def test_auto_without_any_nvidia_card_falls_back_quietly(monkeypatch):
    FakeCuda(monkeypatch, available=False, nvidia=False)
    assert resolve_device("auto") == (torch.device("cpu"), "")


def test_auto_says_why_a_present_card_is_not_used(monkeypatch):
    FakeCuda(monkeypatch, available=False, init_error="The NVIDIA driver on your system is too old (found version "
                                                       "12040). Please update your GPU driver")
    device, note = resolve_device("auto")
    assert device.type == "cpu"
    assert "NVIDIA GPU is present" in note and "driver on your system is too old (found version 12040)" in note
    assert "CUDA 13.0" in note


def test_a_card_older_than_the_build_is_named(monkeypatch):
    FakeCuda(monkeypatch, capability=(7, 0))  # a V100 against a build for sm_75 and newer
    device, note = resolve_device("auto")
    assert device.type == "cpu" and "compute capability 7.0" in note and "sm_75" in note
    with pytest.raises(DeviceError, match=r"device: 'cuda' asked for, but NVIDIA Test GPU \(compute capability 7.0\)"):
        resolve_device("cuda")


@pytest.mark.parametrize("archs, capability, served", [
    (["sm_80"], (8, 6), True),        # same major, newer minor: binary compatible
    (["sm_90"], (8, 6), False),
    (["sm_80"], (9, 0), False),       # a newer major needs PTX
    (["compute_90"], (10, 0), True),  # PTX is compiled for newer cards
    (["sm_120"], (12, 0), True),
])
def test_which_builds_serve_which_cards(monkeypatch, archs, capability, served):
    FakeCuda(monkeypatch, capability=capability, archs=archs)
    assert (dev.cuda_problem(0) is None) == served


def test_cuda_where_none_is_usable_fails_naming_key_and_reason(monkeypatch):
    FakeCuda(monkeypatch, available=False, nvidia=False)
    with pytest.raises(DeviceError, match=r"^device: 'cuda' asked for, but no NVIDIA GPU or driver found"):
        resolve_device("cuda")
    FakeCuda(monkeypatch, cuda_version=None)
    with pytest.raises(DeviceError, match="CPU-only build"):
        resolve_device("cuda:0")


def test_a_gpu_index_beyond_the_cards_fails(monkeypatch):
    FakeCuda(monkeypatch, count=2)
    assert resolve_device("cuda:1")[0] == torch.device("cuda:1")
    with pytest.raises(DeviceError, match=r"'cuda:2' asked for, but torch sees 2 GPU\(s\)"):
        resolve_device("cuda:2")


def test_not_a_device_name():
    with pytest.raises(DeviceError, match="expected auto, cpu, cuda or cuda:N"):
        resolve_device("gpu")


def test_loader_workers_none_on_cpu_and_capped_by_the_cpus_on_gpu(monkeypatch):
    assert resolve_workers("auto", torch.device("cpu")) == 0
    monkeypatch.setattr(dev, "cpu_count", lambda: 3)
    assert resolve_workers("auto", torch.device("cuda")) == 3
    monkeypatch.setattr(dev, "cpu_count", lambda: 64)
    assert resolve_workers("auto", torch.device("cuda")) == 8
    assert resolve_workers(5, torch.device("cpu")) == 5
