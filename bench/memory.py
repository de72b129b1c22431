"""Resident memory of this process: current, peak, and a reset of the peak (Linux).

The peak of one phase (e.g. inference, after the model is loaded) is measured by resetting the kernel's
high-water mark (``/proc/self/clear_refs`` value 5, Linux >= 4.0) before the phase and reading ``VmHWM`` after it.
Where the reset is not possible the peak covers the whole process, and the results say so.
"""
from __future__ import annotations

import re
from pathlib import Path

_STATUS = Path("/proc/self/status")


def _status_kb(field: str) -> int | None:
    try:
        m = re.search(rf"^{field}:\s+(\d+)\s+kB", _STATUS.read_text(), re.MULTILINE)
    except OSError:
        return None
    return int(m.group(1)) if m else None


def rss_mb() -> float | None:
    kb = _status_kb("VmRSS")
    return None if kb is None else kb / 1024.0


def peak_rss_mb() -> float | None:
    kb = _status_kb("VmHWM")
    if kb is None:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return kb / 1024.0


def reset_peak() -> bool:
    """Reset the peak to the current RSS; False where the kernel does not allow it."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True
