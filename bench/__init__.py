"""Benchmarks (installed as tsp3d.bench): each writes JSON under docs/bench/, summarised in docs/BENCHMARKS.md."""
