"""Networks: timm backbones with their input normalisation and frozen stages, heads, pretrained weights,
fold model files."""
