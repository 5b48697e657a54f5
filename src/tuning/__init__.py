"""Hyperparameter search over the `train` block: Ray Tune with HyperOptSearch and ASHA.

space.py: params.yaml's tune.space -> Ray search space, and sampled values -> train overrides.
trainable.py: one trial = src.training.loop.train_model on one fold, reporting every epoch.
search.py: the Tuner (searcher, scheduler, checkpoints, failures, resume).
cluster.py: join an existing Ray cluster or start a local one on loopback.
results.py: trials table, best overrides, summary and the `dvc exp run -S ...` command."""
