"""The fold ensemble as one ONNX file, for use outside this repository (onnxruntime, from any language).

The graph takes `crops`, uint8 N x H x W x 3 RGB face crops cut as the face_crop stage cuts them (what
crops/*.npy hold), and returns `probs`, N x 18 float32: the soft vote of src.inference.ensemble (each
member's TTA views averaged, a fold's mask/gender/age models multiplied into 18 classes, the members
averaged), and `class`, N int64: the decision rule of ensemble/members.json.

torch's exporter traces with torch.export in strict mode: the non-strict trace fixes the batch size (the
len() in src.models.heads.combine_heads), and the legacy TorchScript exporter bakes it into a Reshape
that fails at any other batch size."""
import numpy as np
import torch
from torch import nn

from src.config.tree import thaw
from src.inference.decision import CLASS_AGE, decide
from src.inference.ensemble import soft_vote
from src.inference.predict import TTA_VIEWS
from src.labels.classes import NUM_CLASSES, class_name
from src.labels.tasks import SEPARATE
from src.models.heads import combine_heads


class EnsembleGraph(nn.Module):
    """soft_vote + decide as one torch module (float32, no BatchNorm folding: same outputs to rounding)."""

    def __init__(self, members, tta, decision):
        super().__init__()
        self.members = nn.ModuleList(nn.ModuleDict(member) for member in members)
        self.views = list(tta)
        offsets = decision["age_offsets"] if decision["rule"] == "macro_f1" else [0.0, 0.0, 0.0]
        self.register_buffer("class_offsets", torch.tensor(np.asarray(offsets)[CLASS_AGE], dtype=torch.float32))

    def forward(self, crops):
        pixels = crops.permute(0, 3, 1, 2)  # N x 3 x H x W uint8, as src.data.crop_dataset.collate_pixels
        views = [pixels] + [TTA_VIEWS[name](pixels) for name in self.views]
        probs = torch.stack([self._member(models, views) for models in self.members]).mean(0)
        return probs, (probs.clamp_min(1e-12).log() + self.class_offsets).argmax(1)

    @staticmethod
    def _member(models, views):
        probs = {task: torch.stack([torch.softmax(model(view).float(), dim=1) for view in views]).mean(0)
                 for task, model in models.items()}
        if set(probs) == {"all"}:
            return probs["all"]
        return combine_heads({task: probs[task].clamp_min(1e-12).log() for task in SEPARATE}).exp()


def export_onnx(members, tta, decision, example, out_file):
    """Write the ensemble (loaded members on the CPU, in eval mode) to out_file for crops of example's
    H x W (example: uint8 N x H x W x 3); any batch size runs."""
    graph = EnsembleGraph(members, tta, decision).eval()
    if len(example) < 2:  # torch.export takes a dimension of size 1 for a constant
        example = np.concatenate([example, example])
    example = torch.from_numpy(np.array(example))  # a writable copy
    with torch.no_grad():
        program = torch.export.export(graph, (example,), dynamic_shapes=({0: torch.export.Dim("batch")},),
                                      strict=True)
    torch.onnx.export(program, (example,), str(out_file), input_names=["crops"], output_names=["probs", "class"],
                      dynamo=True, external_data=False, verbose=False)


def onnx_predict(onnx_file, crops):
    """(probs, classes) of the exported ensemble on uint8 N x H x W x 3 crops, run by onnxruntime."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
    probs, classes = session.run(["probs", "class"], {"crops": np.ascontiguousarray(crops)})
    return probs, classes


TOLERANCE = 1e-4  # largest |probability difference| onnxruntime may show against torch


def check_against_torch(onnx_file, members, tta, decision, crops, batch_size):
    """The exported file run by onnxruntime on `crops` gives torch's soft vote (src.inference.ensemble) within
    TOLERANCE and the classes the decision rule picks from its probabilities, or RuntimeError. Returns the
    largest |probability difference|."""
    probs, classes = onnx_predict(onnx_file, crops)
    torch_probs = soft_vote(members, crops, batch_size, torch.device("cpu"), tta)
    diff = float(np.abs(probs - torch_probs).max())
    rule_kept = np.array_equal(classes, decide(decision, probs))
    if diff > TOLERANCE or not rule_kept:
        raise RuntimeError(f"predict --export-onnx: onnxruntime disagrees with torch on {len(crops)} eval crops "
                           f"(max |probability difference| {diff:.2e}, tolerance {TOLERANCE}; classes "
                           f"{'as' if rule_kept else 'not as'} the decision rule picks)")
    return diff


CROP_RECIPE = ("a face box (x1, y1, x2, y2) from the detector, grown by margin x its width and height on each side, "
               "widened to size's height:width ratio about its centre, cut (black beyond the photo) and resized to "
               "size with area interpolation (src.face_crop.boxes.crop_region, cut); no face found: prior_region "
               "(fractions of the photo's width and height) as the box, else the centre region center_size "
               "(height, width for a 512 x 384 photo, scaled to the photo)")


def export_card(onnx_name, n_members, tta, decision, face_crop, prior, crop_size):
    """ensemble.json: what the ONNX file takes and returns, and how to cut the crops it takes."""
    height, width = (int(v) for v in crop_size)
    return {"model": onnx_name,
            "input": {"crops": f"uint8 N x {height} x {width} x 3, RGB face crops"},
            "outputs": {"probs": f"float32 N x {NUM_CLASSES}: class probabilities, the mean of the members'",
                        "class": "int64 N: the class the decision rule picks"},
            "classes": [class_name(c) for c in range(NUM_CLASSES)],
            "class_index": "mask * 6 + gender * 3 + age band",
            "members": n_members, "tta": list(tta), "decision": decision,
            "face_crop": {key: thaw(getattr(face_crop, key)) for key in (
                "detector", "min_face_size", "detect_scale", "retry_thresholds", "margin", "size", "center_size")},
            "prior_region": list(prior) if prior is not None else None,
            "crop": CROP_RECIPE}
