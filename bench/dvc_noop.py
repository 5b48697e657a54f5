"""Item 4: a no-op `dvc repro evaluate`, and the rerun after an ensemble-only param change
(ensemble.tta [hflip] -> [] and back), in a tiny workspace copy built as tests/test_pipeline.py
builds one (tests/helpers/workspace.py: src, stages, dvc.yaml, tiny params, .dvc/config, own git repo;
a 12-person sample; dvc repro evaluate). The rerun's output is parsed for the stages it ran."""
import re
import tempfile
import time
from pathlib import Path

import yaml

from bench.common import median
from tests.helpers.workspace import TINY, make_sample, make_workspace
from tests.helpers.workspace import run as run_checked

TARGET_NOOP_S = 5.0


def sh(args, cwd):
    start = time.perf_counter()
    output = run_checked(args, cwd)
    return time.perf_counter() - start, output


def build_workspace(ws):
    """The tests' own workspace builder (tests/helpers/workspace.py), so the copy follows the pipeline's files."""
    make_workspace(ws, TINY)
    make_sample(ws, persons=12, eval_persons=3)
    return sh(["dvc", "repro", "evaluate"], ws)[0]


def set_tta(ws, tta):
    params = yaml.safe_load((ws / "params.yaml").read_text())
    params["ensemble"]["tta"] = tta
    (ws / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def ran(output):
    return re.findall(r"Running stage '([^']+)'", output)


def run(quick):
    with tempfile.TemporaryDirectory(prefix="bench_dvc_", dir="/tmp") as tmp:
        ws = Path(tmp)
        first = build_workspace(ws)
        noop = []
        for _ in range(1 if quick else 2):
            seconds, out = sh(["dvc", "repro", "evaluate"], ws)
            if ran(out):
                raise RuntimeError(f"no-op dvc repro ran stages {ran(out)}")
            noop.append(seconds)
        reruns = []
        for tta in ([], ["hflip"]):
            set_tta(ws, tta)
            seconds, out = sh(["dvc", "repro", "evaluate"], ws)
            reruns.append({"tta": tta, "seconds": seconds, "stages_run": ran(out)})
    touched_train = sorted({s for r in reruns for s in r["stages_run"] if s.startswith(("train", "face_crop", "split"))})
    noop_s = median(noop)
    rerun_s = median([r["seconds"] for r in reruns])
    return {"workspace": "tests/helpers/workspace.py TINY copy: 12 train + 3 eval persons, k=2, 1 epoch, crops 64x48",
            "first_repro_seconds": first, "noop_seconds": noop_s, "noop_windows": noop,
            "ensemble_rerun_seconds": rerun_s, "ensemble_reruns": reruns, "upstream_stages_rerun": touched_train,
            "targets": [{"name": "no-op dvc repro evaluate s", "value": noop_s, "target": f"< {TARGET_NOOP_S}",
                         "met": noop_s < TARGET_NOOP_S},
                        {"name": "ensemble-param rerun runs no train/face_crop/split", "value": len(touched_train),
                         "target": "== 0 stages", "met": not touched_train}],
            "table": [("dvc repro evaluate, first full run s (tiny)", first),
                      ("dvc repro evaluate, no-op s", noop_s),
                      ("dvc repro evaluate after ensemble.tta change s", rerun_s),
                      ("stages run after ensemble.tta change", ",".join(reruns[0]["stages_run"]) or "none")]}
