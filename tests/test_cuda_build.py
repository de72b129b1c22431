"""The CUDA kernel library, the TensorRT plugin library and the robot runtime as built by scripts/build_plugins.sh:
they exist when CUDA was configured, export only their intended symbols, carry code for the architectures we
deploy to, link without libnvinfer, and the ctypes table of tsp3d.kernels.cuda matches the C header.
Everything here runs without a GPU."""
from __future__ import annotations

import ctypes
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import torch

from tsp3d.errors import DependencyError, SparseInputError
from tsp3d.utils.libraries import REPO_ROOT, search_dirs

HEADER = REPO_ROOT / "plugins" / "kernels" / "include" / "tsp3d" / "c_api_cuda.h"


def _build_dir() -> Path | None:
    """The CMake build holding the libraries (build/plugins, or the parent of TSP3D_PLUGIN_DIR)."""
    for lib_dir in search_dirs():
        if (lib_dir.parent / "CMakeCache.txt").is_file():
            return lib_dir.parent
    return None


def _cache(build: Path) -> str:
    return (build / "CMakeCache.txt").read_text(errors="replace")


@pytest.fixture(scope="module")
def build() -> Path:
    b = _build_dir()
    if b is None:
        pytest.skip("plugins not built (run scripts/build_plugins.sh)")
    return b


def _cuda_configured(build: Path) -> bool:
    m = re.search(r"^CMAKE_CUDA_COMPILER:\w+=(.+)$", _cache(build), re.M)
    return bool(m and m.group(1).strip() and "NOTFOUND" not in m.group(1))


def _trt_configured(build: Path) -> bool:
    m = re.search(r"^TENSORRT_INCLUDE_DIR:\w+=(.+)$", _cache(build), re.M)
    return bool(m and (Path(m.group(1).strip()) / "NvInferRuntime.h").is_file())


def _exported(lib: Path) -> set[str]:
    if shutil.which("nm") is None:
        pytest.skip("nm not installed")
    out = subprocess.run(["nm", "-D", "--defined-only", str(lib)], check=True, capture_output=True, text=True).stdout
    return {line.split()[-1] for line in out.splitlines() if line.strip() and line.split()[1] in "TtWDdBbVv"}


def _needed(path: Path) -> list[str]:
    if shutil.which("readelf") is None:
        pytest.skip("readelf not installed")
    out = subprocess.run(["readelf", "-d", str(path)], check=True, capture_output=True, text=True).stdout
    return re.findall(r"\(NEEDED\).*\[(.+)\]", out)


def _header_functions() -> dict[str, list[str]]:
    """name -> C parameter types, from the TSP3D_CUDA_API declarations of c_api_cuda.h."""
    text = re.sub(r"//[^\n]*", "", HEADER.read_text())
    funcs = {}
    for ret, name, params in re.findall(r"TSP3D_CUDA_API\s+([\w\s\*]+?)\s*(tsp3d_cuda_\w+)\s*\(([^)]*)\)", text):
        types = []
        for p in (p.strip() for p in params.split(",") if p.strip()):
            types.append(re.sub(r"\s+", " ", p.rsplit(" ", 1)[0] + (" *" * p.rsplit(" ", 1)[1].count("*"))).strip())
        funcs[name] = [ret.strip()] + types
    return funcs


def _ctype_of(c_type: str):
    from tsp3d.kernels import cuda as ck

    c_type = c_type.replace("const ", "").strip()
    if c_type.endswith("*"):
        return ck._sizep if c_type.replace(" ", "") == "size_t*" else ck._p
    return {"int32_t": ck._i32, "int64_t": ck._i64, "float": ck._f32, "size_t": ck._size,
            "cudaStream_t": ck._p}[c_type]


def test_ctypes_table_matches_the_header():
    from tsp3d.kernels.cuda import SIGNATURES

    funcs = _header_functions()
    assert len(funcs) >= 24, f"parsed only {sorted(funcs)} from {HEADER}"
    texts = {"tsp3d_cuda_status_string", "tsp3d_cuda_status_hint"}  # bound by kernel_status.StatusTexts
    assert set(SIGNATURES) == set(funcs) - texts
    for name, (ret, *params) in funcs.items():
        if name in texts:
            assert ret.startswith("const char")
            continue
        assert ret == "int32_t", name
        assert [_ctype_of(p) for p in params] == SIGNATURES[name], name


def test_libraries_exist_when_cuda_was_configured(build):
    lib, bin_ = build / "lib", build / "bin"
    assert (lib / "libtsp3d_cpu.so").is_file()
    if not _cuda_configured(build):
        pytest.skip("this build has no CUDA compiler (nvcc not found at configure time)")
    assert (lib / "libtsp3d_cuda.so").is_file()
    if _trt_configured(build):
        assert (lib / "libtsp3d_trt.so").is_file()
        assert (bin_ / "tsp3d_trt_glue_test").is_file()
        assert (bin_ / "tsp3d_infer").is_file()


def _lib(build: Path, name: str) -> Path:
    path = build / "lib" / name
    if not path.is_file():
        pytest.skip(f"{name} not built in {build}")
    return path


def test_cuda_library_exports_exactly_the_c_api(build):
    exported = _exported(_lib(build, "libtsp3d_cuda.so"))
    assert exported == set(_header_functions()), exported ^ set(_header_functions())


def test_trt_library_exports_only_its_entry_points(build):
    assert _exported(_lib(build, "libtsp3d_trt.so")) == {"getCreators", "setLoggerFinder", "tsp3d_trt_take_error"}


def test_nothing_links_libnvinfer(build):
    """TensorRT is found at run time (TensorRT's loader, or dlopen in tsp3d_infer), never at link time."""
    paths = [_lib(build, "libtsp3d_trt.so"), _lib(build, "libtsp3d_cuda.so")]
    if (build / "bin" / "tsp3d_infer").is_file():
        paths.append(build / "bin" / "tsp3d_infer")
    for p in paths:
        needed = _needed(p)
        assert not [n for n in needed if "nvinfer" in n or "nvonnxparser" in n], (p.name, needed)


def test_cuda_library_has_the_deployment_architectures(build):
    """Device code for every architecture the build was asked for, Jetson Orin (sm_87) included."""
    lib = _lib(build, "libtsp3d_cuda.so")
    flags = build / "kernels" / "cuda" / "CMakeFiles" / "tsp3d_cuda.dir" / "flags.make"
    if not flags.is_file():
        pytest.skip(f"{flags} not found (not a Makefile build)")
    wanted = set(re.findall(r"code=\[?[^\s]*sm_(\d+)", flags.read_text()))
    assert "87" in wanted, f"the build does not target Jetson Orin (sm_87): {sorted(wanted)}"
    # Each SASS image of the fat binary names its architecture.
    found = {m.decode() for m in re.findall(rb"sm_(\d+)", lib.read_bytes())}
    assert wanted <= found, f"no device code for sm_{sorted(wanted - found)} in {lib.name} (found {sorted(found)})"


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU behaviour")
def test_cuda_library_without_a_gpu(build):
    lib = ctypes.CDLL(str(_lib(build, "libtsp3d_cuda.so")))
    nbytes = ctypes.c_size_t(0)
    # Sizes that need no device work; the CUB-backed ones report a CUDA error instead of crashing.
    assert lib.tsp3d_cuda_sparse_conv_workspace_size(ctypes.c_int64(10), ctypes.byref(nbytes)) == 0
    assert nbytes.value == 256
    assert lib.tsp3d_cuda_voxelize_workspace_size(ctypes.c_int64(10), ctypes.byref(nbytes)) == 8  # kCudaError
    assert lib.tsp3d_cuda_prune_workspace_size(ctypes.c_int64(-1), ctypes.byref(nbytes)) == 7  # kInvalidArgument

    from tsp3d.kernels import cuda as cuda_kernels

    with pytest.raises(DependencyError, match="CUDA device"):
        cuda_kernels.load.__wrapped__()
    k = cuda_kernels.CudaKernels(build / "lib" / "libtsp3d_cuda.so")
    with pytest.raises(SparseInputError, match="must be a CUDA tensor"):
        k.voxelize(torch.zeros((4, 3)), 0.1)
    with pytest.raises(SparseInputError, match=r"coords must be a \[N, 4\] tensor"):
        k.coords_down(torch.zeros((4, 3), dtype=torch.int32), 1)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU behaviour")
def test_cuda_int8_conv_refuses_an_inexact_reduction_on_the_host(build):
    """tsp3d_cuda_sparse_conv_i8 refuses K * Cin > 131071 (tsp3d/int8_math.h, as the CPU kernels do) before it
    touches the device: kInvalidArgument. At the bound the host checks pass and the first device call fails here
    (no GPU): kCudaError. Every buffer is one host block the launcher never reads on the host."""
    from tsp3d.kernels import cuda as cuda_kernels, status as kernel_status

    k = cuda_kernels.CudaKernels(_lib(build, "libtsp3d_cuda.so"))
    block = ctypes.create_string_buffer(4096)
    p = ctypes.cast(block, ctypes.c_void_p)

    def launch(kvol: int, cin: int) -> int:
        return k.lib.tsp3d_cuda_sparse_conv_i8(p, p, 1, cin, p, 1, kvol, p, p, 4, None, 0, p, p, p, 4096, None)

    assert k.status.name(launch(8, 16384)) == "invalid argument"  # 131072
    assert k.status.name(launch(1, 131072)) == "invalid argument"
    assert launch(1, 131071) == kernel_status.CUDA_ERROR
    assert launch(27, 4854) == kernel_status.CUDA_ERROR  # 131058
