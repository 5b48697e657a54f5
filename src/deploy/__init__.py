"""The trained ensemble used outside the DVC pipeline: predict the photos of any folder, export to ONNX.

Kept apart from src/inference on purpose: the ensemble and predict stages depend on that whole folder
(dvc.yaml), so a module there would rerun them and be listed as code they never load."""
