"""The ``tsp3d`` command line from a checkout: ``python cli.py ARGS`` runs what ``tsp3d ARGS`` runs.

The CLI itself is ``tsp3d/cli.py`` (installed as ``tsp3d.cli``, console script ``tsp3d``); this file keeps the
design card's top-level entry point without a second module of the same name.
"""
from tsp3d.cli import entry

if __name__ == "__main__":
    entry()
