"""Datasets: the synthetic grounding benchmark, the on-disk format, and readers of real data.

- ``types``: ``Scene`` and ``Annotation``, what every loader yields;
- ``dataset.GroundingDataset``: a split of a dataset in the tsp3d format (``format``, docs/data-format.md);
- ``synth``: the procedural benchmark generator (``tsp3d data synth``);
- ``boxes``: axis-aligned IoU (the metric), ``points``: subsampling and colour conventions;
- ``baselines``: text-blind random-object and class-only baselines, exact in expectation;
- ``pointcloud.read_point_cloud``: PLY / NPY / NPZ / BIN clouds;
- ``official``: the official TSP3D scan pickles and ScanRefer / NR3D / SR3D annotations.

Nothing is imported here, so ``import tsp3d.data.<module>`` stays cheap.
"""
