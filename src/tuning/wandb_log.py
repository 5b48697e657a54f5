"""Opt-in Weights & Biases logging of the tune trials, through Ray Tune's own WandbLoggerCallback.

    tune:
      wandb: {project: "", group: ""}   # project "" (the default): off

On, every trial becomes one W&B run (run id = the trial id, grouped by `group`, or when empty by the
experiment name "search") that logs each epoch's report (f1, val_loss, accuracy, train_loss, epoch)
with the trial's sampled values as its config. Checkpoints are not uploaded.

Nothing secret lives in params.yaml: the API key comes from WANDB_API_KEY or `wandb login`, the
entity from WANDB_ENTITY. WANDB_MODE=offline logs without an account or network (`wandb sync` uploads
the offline runs later). The runs go to WANDB_DIR/wandb/ when WANDB_DIR is set, else to wandb/ beside
the experiment in the stage's Ray folder: not Ray's default (each trial's staging folder in Ray's
session directory), whose copies in the trial folders Ray takes before wandb has finished writing.
WANDB_MODE and WANDB_ENTITY are passed to the logging actors explicitly, as the folder is, so they
apply on an existing cluster too, whose workers do not share this process's environment."""
import importlib
import os
from pathlib import Path

# Environment of this process -> wandb.init() argument of each trial's logging actor.
FORWARDED_ENV = {"WANDB_MODE": "mode", "WANDB_ENTITY": "entity"}


def settings(tune):
    """The Tune config (src.config.tree) -> {"project": .., "group": ..} when W&B logging is on, None when off.

    Fails naming tune.wandb when it is on and wandb cannot be imported. Imports wandb only when on, and
    never ray (cluster.connect() must run before ray is imported)."""
    project, group = tune.wandb.project, tune.wandb.group
    if not project:
        return None
    try:
        importlib.import_module("wandb")
    except ImportError as e:
        raise RuntimeError(f"tune.wandb: W&B logging is on (project {project!r}) but the wandb package "
                           f"cannot be imported ({e}); install it with `pip install -r requirements.txt -c "
                           f"constraints.txt`, or set tune.wandb.project: \"\" to turn the logging off") from None
    return {"project": project, "group": group}


def callbacks(cfg, storage_path):
    """The Tune callbacks for RunConfig(callbacks=...): [WandbLoggerCallback] when tune.wandb is on, else [].
    storage_path: the experiment's parent folder (on this machine), where wandb/ goes unless WANDB_DIR is set.
    The logging actors run on this machine (Ray places them on the driver's node)."""
    chosen = settings(cfg)
    if chosen is None:
        return []
    from ray.air.integrations import wandb as ray_wandb

    if ray_wandb.wandb is None:  # Ray imports wandb's internals itself and gives up silently when they moved
        import wandb

        raise RuntimeError(f"tune.wandb: Ray's W&B integration cannot use the installed wandb "
                           f"{getattr(wandb, '__version__', '?')}; install the version pinned in constraints.txt")

    class WandbCallback(ray_wandb.WandbLoggerCallback):
        """Ray's callback, except that an interrupted search (Ctrl-C) ends promptly. Ray tells a trial's
        logging actor to finish only when the trial ends, and an interrupt ends none: at the experiment's
        end Ray would wait upload_timeout (30 min) for their actors. Defined here because ray may be
        imported only after cluster.connect(); Tune saves it with cloudpickle, which keeps such classes."""

        def on_experiment_end(self, trials, **info):
            for trial in list(self._trial_queues):  # a second stop for a trial that ended is never read
                self._signal_logging_actor_stop(trial)
            super().on_experiment_end(trials, **info)

    init = {arg: os.environ[var] for var, arg in FORWARDED_ENV.items() if os.environ.get(var)}
    init["dir"] = str(Path(os.environ.get("WANDB_DIR") or storage_path).resolve())
    Path(init["dir"]).mkdir(parents=True, exist_ok=True)  # wandb falls back to a temp folder when it is missing
    return [WandbCallback(project=chosen["project"], group=chosen["group"] or None, **init)]
