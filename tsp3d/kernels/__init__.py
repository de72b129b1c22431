"""The compiled kernels through their C ABIs (ctypes): ``cpu`` (``libtsp3d_cpu.so``), ``cuda`` (``libtsp3d_cuda.so``).

The lowest layer above ``tsp3d.errors``/``tsp3d.utils``: the sparse core's C++ backend and the runtimes' device
checks both use it, and it imports nothing of tsp3d above it. ``library`` is the one ctypes loader (a symbol table
per library), ``status`` the status codes and their texts (read from the libraries' shared status table).
Nothing is loaded at import time: the modules import without the built libraries.
"""
