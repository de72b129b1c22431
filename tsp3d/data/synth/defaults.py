"""Default sizes of the generated benchmark (import-light: the CLI reads these to show its defaults)."""
DEFAULT_TRAIN_SCENES = 1200  # about 1 minute on 2 cores (measured; see docs/data-format.md)
DEFAULT_VAL_SCENES = 200
DEFAULT_POINTS = 50_000
DEFAULT_SEED = 0
