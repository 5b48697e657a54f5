"""Where models run: the torch device, loader processes and mixed precision for it."""
import torch


def pick_device(name="auto"):
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def resolve_workers(value, device):
    """'auto': no worker processes on CPU (they would compete with torch's threads), 8 on GPU."""
    if value == "auto":
        return 8 if device.type == "cuda" else 0
    return int(value)


def autocast(device):
    return torch.autocast(device_type=device.type, dtype=torch.float16, enabled=device.type == "cuda")
