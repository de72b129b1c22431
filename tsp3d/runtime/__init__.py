"""Runtimes outside PyTorch: ONNX Runtime sessions with the tsp3d custom-op library (``ort_session``), and the C++
CPU / CUDA kernels through their C ABIs (``cpu_kernels``, ``cuda_kernels``). Submodules import their heavy
dependencies on use."""
