"""make_sample: write a synthetic face-photo sample in the real competition layout.

The real data cannot be shipped; this sample has the same folders, CSVs and quirks (.png/.jpeg
files, AppleDouble '._' files, odd ids), drawn faces with masks, plus sample_truth/ with the eval
answers and true face boxes. Same seed and package versions give byte-identical files.

    python -m stages.make_sample --out data --persons 300 --eval-persons 100 --seed 0
"""
import argparse
import os
import sys

from src.sample.layout import write_sample
from stages.plumbing import paths
from stages.plumbing.entry import run


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(paths.DATA), help="output folder (default: %(default)s)")
    parser.add_argument("--persons", type=int, default=300, help="train persons, 7 photos each (default: %(default)s)")
    parser.add_argument("--eval-persons", type=int, default=100,
                        help="eval persons, 7 photos each (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="(default: %(default)s)")
    parser.add_argument("--workers", type=int, default=2, help="rendering processes; output does not depend on it")
    parser.add_argument("--force", action="store_true", help="delete a non-empty --out and rewrite it")
    args = parser.parse_args(argv)
    if args.persons < 1 or args.eval_persons < 1 or args.seed < 0:
        parser.error("--persons and --eval-persons must be >= 1, --seed >= 0")
    progress = not os.environ.get("CI") and sys.stdout.isatty()
    try:
        s = write_sample(args.out, args.persons, args.eval_persons, args.seed, args.workers, args.force, progress)
    except FileExistsError as e:
        parser.exit(1, f"make_sample: {e}\n")
    print(f"make_sample: wrote {s['out']}: {s['train_persons']} train persons ({s['train_images']} images, "
          f"{s['png_folders']} .png + {s['jpeg_folders']} .jpeg folders, {s['apple_double_files']} '._' files), "
          f"{s['eval_persons']} eval persons ({s['eval_images']} images), seed {args.seed}, in {s['seconds']} s")


if __name__ == "__main__":
    run(main)
