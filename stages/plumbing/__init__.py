"""What the stage scripts share, and no stage of its own: where stages read and write (paths), how a
stage exits on bad input (entry), the check of the names in params.yaml (name_checks) and each stage's
params file for DVC's run cache (stage_params). Pipeline code, not library code: src/ never imports it."""
