"""TensorRT engines: optimization profiles from a bundle's capacities, the build, the manifest that ties an engine to
its TensorRT version, GPU and plugin library, and the latency benchmark (``tsp3d build-engine``, ``bench-engine``)."""
