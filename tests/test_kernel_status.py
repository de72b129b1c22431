"""The one status table (plugins/kernels/include/tsp3d/status.h) and its readers: the codes Python branches on are
the header's, both kernel libraries hand out the header's texts through their C ABI, and the kernel wrappers put
them in their typed errors. The header checks run everywhere; the library checks where the libraries are built
(no GPU needed: the status texts are host functions)."""
from __future__ import annotations

import ctypes
import re

import pytest
import torch

from tsp3d.errors import CapacityError, SparseInputError
from tsp3d.kernels import status as kernel_status
from tsp3d.kernels.status import StatusTexts
from tsp3d.utils.libraries import REPO_ROOT, find_library

HEADER = REPO_ROOT / "plugins" / "kernels" / "include" / "tsp3d" / "status.h"


def _header() -> tuple[dict[str, int], dict[str, tuple[str, str]]]:
    """(enum name -> code, enum name -> (name, hint)) from status.h (adjacent string literals joined)."""
    text = re.sub(r"//[^\n]*", "", HEADER.read_text())
    enum = re.search(r"enum class Status : int32_t \{(.*?)\};", text, re.S).group(1)
    codes = {name: int(value) for name, value in re.findall(r"(k\w+)\s*=\s*(\d+)", enum)}
    table = re.search(r"kStatusTexts\[\] = \{(.*?)\n\};", text, re.S).group(1)
    texts = {}
    for name, strings in re.findall(r"\{Status::(k\w+),((?:\s*\"[^\"]*\"\s*,?)+)\}", table):
        parts = re.split(r"\"\s*,\s*\"", strings.strip().strip(",").strip())
        joined = [re.sub(r"\"\s+\"", "", p).strip('"') for p in parts]
        assert len(joined) == 2, (name, strings)
        texts[name] = (joined[0], joined[1])
    return codes, texts


def test_header_table_is_complete_and_parsed():
    codes, texts = _header()
    assert len(codes) >= 10 and sorted(codes.values()) == list(range(len(codes)))
    assert set(texts) == set(codes)
    assert texts["kCapacityExceeded"][0] == "capacity exceeded" and "--capacity" in texts["kCapacityExceeded"][1]


def test_python_codes_are_the_headers():
    codes, _ = _header()
    assert kernel_status.OK == codes["kOk"]
    assert kernel_status.CAPACITY_EXCEEDED == codes["kCapacityExceeded"]
    assert kernel_status.CUDA_ERROR == codes["kCudaError"]
    assert kernel_status.OUT_OF_MEMORY == codes["kOutOfMemory"]


def test_only_the_capacity_status_speaks_of_capacity():
    """Runtimes classify a TensorRT failure as CapacityError by the word (tsp3d.runtime.tensorrt_runtime)."""
    _, texts = _header()
    for name, (title, hint) in texts.items():
        if name != "kCapacityExceeded":
            assert "capacity" not in (title + hint).lower(), name


@pytest.mark.parametrize("kind,prefix", [("cpu", "tsp3d_"), ("cuda", "tsp3d_cuda_")])
def test_libraries_hand_out_the_header_texts(kind, prefix):
    path = find_library(kind)
    if path is None:
        pytest.skip(f"lib{kind} not built")
    status = StatusTexts(ctypes.CDLL(str(path)), prefix)
    codes, texts = _header()
    for name, code in codes.items():
        assert (status.name(code), status.hint(code) or "") == texts[name], name
    assert status.name(len(codes)) == "unknown" and status.hint(-1) is None


@pytest.mark.skipif(find_library("cpu") is None, reason="libtsp3d_cpu.so not built")
def test_cpu_wrapper_errors_carry_the_table_hints():
    from tsp3d.kernels.cpu import load

    k = load()
    _, texts = _header()
    coords = torch.tensor([[0, 0, 0, 0], [0, 2, 0, 0], [0, 4, 0, 0]], dtype=torch.int32)
    with pytest.raises(CapacityError, match="produced 3 rows, over its capacity of 2") as err:
        k.coords_down(coords, 1, capacity=2)
    assert err.value.hint == texts["kCapacityExceeded"][1]
    with pytest.raises(SparseInputError, match="duplicate coordinate") as err:
        k.lookup(coords, torch.cat([coords, coords[:1]]))
    assert err.value.hint == texts["kDuplicateCoord"][1]
