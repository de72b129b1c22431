"""INT8 for tsp3d graphs (installed as tsp3d.calibration): calibration data, range observers, Q/DQ rewrite with
``SparseConvInt8``, calibration cache, per-layer sensitivity sweep.

    from tsp3d.calibration import calibrate_bundle
    info = calibrate_bundle("bundle/", "data/synth", method="entropy")   # bundle/model.int8.onnx, ...

Modules: ``data`` (samples, text sources, fingerprint), ``observers`` (minmax / entropy / percentile),
``collect`` (statistics through ONNX Runtime + libtsp3d_ort.so), ``layers`` (quantizable layers, sweep units, keep
rules), ``qdq`` (the graph rewrite), ``cache`` (JSON cache), ``evaluate`` (accuracy and agreement),
``sensitivity`` (the sweep and the default rule), ``pipeline`` (end to end), ``study`` (the accuracy study that
writes docs/bench/int8.json). docs/int8.md describes the whole.
"""


def calibrate_bundle(*args, **kwargs):
    """See ``tsp3d.calibration.pipeline.calibrate_bundle``."""
    from tsp3d.calibration.pipeline import calibrate_bundle as impl

    return impl(*args, **kwargs)
