"""INT8 calibration for tsp3d engines (installed as tsp3d.calibration)."""
