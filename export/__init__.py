"""ONNX export of TSP3D (installed as ``tsp3d.export``). ``opset_spec`` is the ``tsp3d`` opset table; ``schemas``
registers its ONNX schemas (imported lazily: onnx is only loaded when a schema is needed)."""


def register_schemas() -> list:
    """Register the ONNX schemas of the ``tsp3d`` opset (idempotent); see ``tsp3d.export.schemas``."""
    from tsp3d.export.schemas import register_schemas as _register

    return _register()


__all__ = ["register_schemas"]
