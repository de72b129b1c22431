"""Runtimes: PyTorch, ONNX Runtime (sessions with the tsp3d custom-op library, ``ort_session``) and TensorRT
engines behind one interface (``base.Runtime``), plus what they share (bundle manifests, text features at run
time, the pre-run memory check). The C ABI bindings of the kernels live one layer down, in ``tsp3d.kernels``.
Submodules import their heavy dependencies on use."""
