"""Where models run: params.yaml's one `device` key resolved to a torch device (said aloud), loader
processes and mixed precision for it."""
import os
import shutil
from pathlib import Path

import torch

from src.common.device_names import DEVICE_NAME
from src.common.errors import first_line


class DeviceError(ValueError):
    """`device` asks for a GPU torch cannot use here: the message says why."""


def cuda_problem(index=0):
    """Why torch cannot run on CUDA device `index` here, or None when it can."""
    if torch.version.cuda is None:
        return f"torch {torch.__version__} is a CPU-only build"
    if not torch.cuda.is_available():
        if not nvidia_present():
            return "no NVIDIA GPU or driver found (torch.cuda.is_available() is False)"
        try:  # torch's own reason: a driver too old for its CUDA build, a busy or broken device...
            torch.cuda.init()
        except Exception as e:  # noqa: BLE001 - any failure of CUDA's start is the reason to report
            return f"torch {torch.__version__} (CUDA {torch.version.cuda}) cannot start CUDA: {first_line(e)}"
        return f"torch {torch.__version__} (CUDA {torch.version.cuda}) sees no usable GPU"
    count = torch.cuda.device_count()
    if index >= count:
        return f"torch sees {count} GPU(s) (cuda:0..cuda:{count - 1})"
    major, minor = torch.cuda.get_device_capability(index)
    archs = torch.cuda.get_arch_list()
    if archs and not any(_serves(arch, major, minor) for arch in archs):
        return (f"{torch.cuda.get_device_name(index)} (compute capability {major}.{minor}) is not served by torch "
                f"{torch.__version__}, built for {', '.join(archs)}: install a torch build for an older CUDA "
                f"(README, 'Running on a GPU')")
    return None


def _serves(arch, major, minor):
    """A build for `arch` (sm_XY runs on capability X.Y and newer minors of X; compute_XY is PTX, JIT-compiled
    for any newer card) runs on a card of capability major.minor."""
    kind, _, digits = arch.partition("_")
    if not digits.isdigit():
        return False
    built = (int(digits[:-1]), int(digits[-1]))
    if kind == "compute":
        return built <= (major, minor)
    return built[0] == major and built[1] <= minor


def nvidia_present():
    """An NVIDIA driver or card is visible to the system, whether or not torch can use it."""
    return Path("/proc/driver/nvidia/version").exists() or Path("/dev/nvidia0").exists() \
        or shutil.which("nvidia-smi") is not None


def resolve_device(name="auto"):
    """(torch.device, note) for params.yaml's `device`: auto = the first GPU torch can use, else the CPU (the note
    says why an NVIDIA card present is not used); cpu; cuda or cuda:N, which fail with DeviceError when torch
    cannot use that GPU."""
    if not DEVICE_NAME.match(str(name)):
        raise DeviceError(f"device: {name!r} is not a device; expected auto, cpu, cuda or cuda:N")
    if name == "cpu":
        return torch.device("cpu"), ""
    if name == "auto":
        problem = cuda_problem(0)
        if problem is None:
            return torch.device("cuda"), ""
        return torch.device("cpu"), (f"auto: an NVIDIA GPU is present but {problem}" if nvidia_present() else "")
    problem = cuda_problem(torch.device(name).index or 0)
    if problem is not None:
        raise DeviceError(f"device: {name!r} asked for, but {problem}; use device: auto or cpu")
    return torch.device(name), ""


def describe(device, note=""):
    """One line naming the device, e.g. `device: cuda:0 (NVIDIA H100 80GB HBM3, torch 2.14.1+cu130)`."""
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        what = f"cuda:{index} ({torch.cuda.get_device_name(index)}, torch {torch.__version__})"
    else:
        what = f"cpu (torch {torch.__version__}, {torch.get_num_threads()} threads)"
    return f"device: {what}" + (f"; {note}" if note else "")


def stage_device(params):
    """The device of params.yaml's `device` key, with its line printed: every stage that runs torch calls it."""
    device, note = resolve_device(params.device)
    print(describe(device, note), flush=True)
    return use_device(device)


def use_device(device):
    """Set torch up for `device` (stages and tune trials alike) and return it. On a GPU, cuDNN times the
    convolution algorithms for each input shape once and keeps the fastest (the shapes here are fixed):
    faster, but the algorithm chosen can differ from run to run, so GPU results are not bitwise
    repeatable; CPU results are unaffected."""
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    return device


def cpu_count():
    """CPUs this process may use (its affinity, e.g. a container's or a job's share), not the machine's."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def resolve_workers(value, device):
    """'auto': no worker processes on CPU (they would compete with torch's threads); on a GPU up to 8,
    at most one per CPU this process may use. An integer is taken as given."""
    if value == "auto":
        return min(8, cpu_count()) if device.type == "cuda" else 0
    return int(value)


def place_model(model, device):
    """The model on `device` with channels_last weights: faster convolutions on GPUs and, through oneDNN, on
    CPU too (efficientnet_lite0 at 128x96, 2 threads: a training step 0.73x, inference 0.72x the time)."""
    return model.to(device, memory_format=torch.channels_last)


def channels_last(images):
    """A batch in the layout of place_model's weights (a no-op when it already is)."""
    return images.contiguous(memory_format=torch.channels_last)


def autocast(device):
    return torch.autocast(device_type=device.type, dtype=torch.float16, enabled=device.type == "cuda")
