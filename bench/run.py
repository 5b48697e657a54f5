"""Benchmark suite: every figure measured side by side in one run; prints a table, writes JSON.

    python -m bench.run [--quick] [--only train_throughput,predict_tta] [--out bench/results.json]

Figures are printed, never asserted: the machine's load changes absolute numbers, so each target
is a ratio of two things measured interleaved in the same run."""
import argparse
import importlib
import json
import os
import platform
import sys
import time
from datetime import datetime, timezone

import torch

# Run order: cheapest first, so a smoke run fails fast.
ITEMS = ["train_throughput", "predict_tta", "epoch_scaling", "face_crop_speed", "train_memory", "dvc_noop",
         "batchnorm_folding"]
# --quick leaves out the no-op dvc measurement unless --only names it: building its tiny pipeline
# (sample, faceCrop, two folds) takes over a minute by itself.
QUICK_SKIPS = {"dvc_noop"}


def fmt(value):
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def print_table(results, file=None):
    rows = [("item", "figure", "value")]
    for item, result in results.items():
        for name, value in result.get("table", []):
            rows.append((item, name, fmt(value)))
    rows.append(("", "", ""))
    rows.append(("target", "", "value / met"))
    for item, result in results.items():
        for t in result.get("targets", []):
            rows.append((item, f"{t['name']} {t['target']}", f"{fmt(t['value'])} / {'yes' if t['met'] else 'NO'}"))
        if "error" in result:
            rows.append((item, "ERROR", result["error"][:80]))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip(), file=file, flush=True)


def write_report(args, results):
    report = {"when": datetime.now(timezone.utc).isoformat(timespec="seconds"), "quick": args.quick,
              "machine": {"cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                          "load_average_1_5_15": list(os.getloadavg()), "python": platform.python_version(),
                          "torch": torch.__version__, "cuda": torch.cuda.is_available()},
              "results": results}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(report, f, indent=2, default=float)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smoke run: small sizes, one or two windows, no dvc_noop unless --only names it")
    parser.add_argument("--only", default="", help=f"comma-separated items (default: all of {ITEMS})")
    parser.add_argument("--out", default="bench/results.json", help="JSON output (default: %(default)s)")
    args = parser.parse_args(argv)
    items = [i for i in args.only.split(",") if i] or [i for i in ITEMS if not (args.quick and i in QUICK_SKIPS)]
    unknown = sorted(set(items) - set(ITEMS))
    if unknown:
        parser.error(f"unknown item(s) {unknown}; valid: {ITEMS}")
    results = {}
    for item in items:
        started = time.perf_counter()
        print(f"bench: {item} ...", file=sys.stderr, flush=True)
        try:
            results[item] = importlib.import_module(f"bench.{item}").run(args.quick)
        except Exception as error:  # one broken measurement must not hide the others
            results[item] = {"error": f"{type(error).__name__}: {error}", "targets": [], "table": []}
        results[item]["seconds"] = round(time.perf_counter() - started, 1)
        write_report(args, results)  # after every item: a long run cut short keeps what it measured
        print_table({item: results[item]}, file=sys.stderr)
    print_table(results)
    print(f"bench: wrote {args.out}; load average at the end {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    return 1 if any("error" in r for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
