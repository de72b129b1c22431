"""Runtimes outside PyTorch: ONNX Runtime sessions with the tsp3d custom-op library (``ort_session``) and the C++
CPU kernels through their C ABI (``cpu_kernels``). Submodules import their heavy dependencies on use."""
