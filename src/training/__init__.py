"""Training one model: the epoch loop and checkpoints, losses, optimizers, samplers, mixing, resampling,
augmentation, torchensemble members."""
