"""Package mapping only; metadata lives in pyproject.toml.

The design card keeps export/, calibration/, bench/ and cli.py at the repository root. They are installed under
the tsp3d namespace (tsp3d.export, tsp3d.calibration, tsp3d.bench, tsp3d.cli) so that no generic top-level name
lands in site-packages. tsp3d/cli.py is a symlink to ../cli.py for the same reason.
"""
from setuptools import find_packages, setup

ROOTS = {"tsp3d": "tsp3d", "tsp3d.export": "export", "tsp3d.calibration": "calibration", "tsp3d.bench": "bench"}

packages, package_dir = [], {}
for name, path in ROOTS.items():
    package_dir[name] = path
    packages += [name] + [f"{name}.{sub}" for sub in find_packages(path)]

setup(packages=packages, package_dir=package_dir, package_data={"tsp3d": ["configs/*.json"]})
