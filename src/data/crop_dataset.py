"""Torch datasets and loaders over the uint8 crop arrays written by faceCrop."""
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler, get_worker_info


class CropDataset(Dataset):
    """crops: N x H x W x 3 uint8 (a memory-map is fine); labels: N ints or None (eval);
    transform: an albumentations Compose (uint8 -> uint8) or None. Items stay uint8 H x W x 3."""

    def __init__(self, crops, labels, transform):
        self.crops, self.labels, self.transform = crops, labels, transform

    def __len__(self):
        return len(self.crops)

    def __getitem__(self, i):
        if isinstance(i, tuple):  # (index, epoch seed) from SeededItems: this item's own augmentation stream
            i, epoch_seed = i
            if self.transform is not None:
                self.transform.set_random_seed(int(np.random.SeedSequence([epoch_seed, i]).generate_state(1)[0]))
        image = np.asarray(self.crops[i])
        if self.transform is not None:
            image = self.transform(image=image)["image"]
        return image, (-1 if self.labels is None else int(self.labels[i]))


def collate_pixels(batch):
    """[(uint8 H x W x 3, label)] -> (uint8 N x 3 x H x W pixels, int64 labels).

    The batch stays uint8 until the model's first layer (src.models.networks.PixelInput) turns it into
    normalised floats on the device: a quarter of the bytes to pin and copy to a GPU, and no float
    pass on the CPU. It has channels_last strides (a permuted view of N x H x W x 3), the layout
    the GPU path wants."""
    images, labels = zip(*batch)
    pixels = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2)
    return pixels, torch.tensor(labels, dtype=torch.int64)


def _seed_worker_transform(worker_id):
    # Each worker holds a copy of the transform with the same seed: give each its own stream,
    # derived from the loader's per-epoch generator so a run is reproducible.
    info = get_worker_info()
    if info.dataset.transform is not None:
        info.dataset.transform.set_random_seed(torch.initial_seed() % 2**32)


class SeededItems(Sampler):
    """The indices of `items` (another sampler) as (index, epoch_seed) pairs: CropDataset then augments each
    item from its own seed, whichever loader process draws it. The loop sets epoch_seed before each epoch
    (the sampler runs in the main process, so persistent workers see each epoch's seed)."""

    def __init__(self, items):
        self.items, self.epoch_seed = items, 0

    def __len__(self):
        return len(self.items)

    def __iter__(self):
        return ((int(i), self.epoch_seed) for i in self.items)


def make_loader(dataset, batch_size, num_workers, shuffle=False, sampler=None, generator=None, drop_last=False):
    """Worker processes, when any, persist for the loader's life (no start-up per epoch)."""
    return DataLoader(
        dataset, batch_size=batch_size, shuffle=shuffle and sampler is None, sampler=sampler,
        generator=generator, num_workers=num_workers, drop_last=drop_last, collate_fn=collate_pixels,
        pin_memory=torch.cuda.is_available(), worker_init_fn=_seed_worker_transform if num_workers else None,
        persistent_workers=num_workers > 0)
