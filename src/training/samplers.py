"""Sampler factory: how the training loader draws samples of imbalanced classes.

"none" returns None (the loader shuffles). The others draw len(labels) samples with replacement,
each weighted by count(label)**-power, from a torch.Generator seeded with `seed`.
"""
from functools import partial

import numpy as np
import torch
from torch.utils.data import WeightedRandomSampler

from src.common.factory import pick


def _by_count(labels: np.ndarray, seed: int, power: float) -> WeightedRandomSampler:
    _, inverse, counts = np.unique(np.asarray(labels), return_inverse=True, return_counts=True)
    weights = counts[inverse.reshape(-1)].astype(np.float64) ** -power
    generator = torch.Generator().manual_seed(int(seed))
    return WeightedRandomSampler(torch.from_numpy(weights), num_samples=len(weights),
                                 replacement=True, generator=generator)


SAMPLERS = {
    "none": lambda labels, seed: None,
    # every class equally likely, as torchsampler's ImbalancedDatasetSampler
    "imbalanced": partial(_by_count, power=1.0),
    # softer: class frequency ~ sqrt(count), frequent classes still seen more often
    "weighted": partial(_by_count, power=0.5),
}


def build_sampler(name: str, labels: np.ndarray, seed: int):
    return pick("train.sampler", SAMPLERS, name, "sampler")(labels, seed)
