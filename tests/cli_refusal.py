"""Running the CLI in-process and checking a refusal (exit code, one ``error:`` line, no traceback, nothing written),
for the bad-input tests of test_reliability_cli.py and test_reliability_cli_models.py."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from test_export_shared import room_points, tiny_checkpoint

ROOM = room_points(3000, seed=7)


def run(capfd, *args):
    from tsp3d.cli import main

    code = main([str(a) for a in args])
    out, err = capfd.readouterr()
    return code, out, err


def assert_refused(code: int, err: str, match: str, exit_code: int = 2) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == exit_code, err
    assert "Traceback" not in err, err
    assert lines and lines[0].startswith("error: "), err
    assert len(lines) == 1 or (len(lines) == 2 and lines[1].startswith("hint: ")), err
    assert re.search(match, lines[0]), lines[0]


def assert_nothing_written(folder: Path) -> None:
    """No output and no temporary sibling (``.name.XXXX.tmp``) anywhere under ``folder``."""
    left = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert left == [], left


@pytest.fixture
def out(tmp_path) -> Path:
    d = tmp_path / "out"
    d.mkdir()
    return d


def ground(capfd, out: Path, scene, *extra, text="the lamp", source=None):
    source = source or ["--checkpoint", tiny_checkpoint()]
    texts = ["--text", text] if text is not None else []
    return run(capfd, "ground", "--scene", scene, *texts, *source, "--json", out / "g.json", *extra)


def npy_file(path: Path, arr) -> Path:
    np.save(path, np.asarray(arr))
    return path


def bytes_file(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
