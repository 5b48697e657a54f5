"""Resampling of a fold's training rows, before the sampler: train.resample = {min_count, max_count}.

Classes with fewer than min_count rows are over-sampled (their rows repeated, the extra ones drawn
with replacement) up to min_count; classes with more than max_count rows are under-sampled
(drawn without replacement) down to max_count. 0 turns either side off. Seeded: same seed, same rows.
min_count <= max_count (when both are on) is params.yaml's rule, checked by check_params.
"""
import numpy as np


def resample_indices(labels, min_count=0, max_count=0, seed=0):
    """Indices into labels (sorted), each class brought into [min_count, max_count] rows."""
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    keep = []
    for label in np.unique(labels):
        rows = np.flatnonzero(labels == label)
        if max_count and len(rows) > max_count:
            rows = rng.choice(rows, max_count, replace=False)
        elif min_count and len(rows) < min_count:
            rows = np.concatenate([rows, rng.choice(rows, min_count - len(rows), replace=True)])
        keep.append(rows)
    return np.sort(np.concatenate(keep)) if keep else np.zeros(0, dtype=np.int64)
