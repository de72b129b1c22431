"""Training logs: CSV files (one row per logged step / validation), plus TensorBoard when it is installed.

Rows are appended and flushed at once, so a killed run keeps every row it logged, and a resumed run continues the
same files. New columns after the first row are refused (a CSV has one header).
"""
from __future__ import annotations

import csv
from pathlib import Path


class CsvLog:
    def __init__(self, path: Path, enabled: bool = True, tensorboard: bool = True):
        self.path, self.enabled = Path(path), enabled
        self.fields: list[str] | None = None
        if enabled and self.path.is_file():
            with open(self.path, newline="") as f:
                header = next(csv.reader(f), None)
            self.fields = header or None
        self._tb = None
        if enabled and tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self._tb = SummaryWriter(str(self.path.parent / "tb"))
            except Exception:  # tensorboard not installed: CSV only
                self._tb = None

    def write(self, row: dict) -> None:
        if not self.enabled:
            return
        new = self.fields is None
        if new:
            self.fields = list(row)
        extra = [k for k in row if k not in self.fields]
        if extra:
            raise ValueError(f"{self.path.name}: columns {extra} were not in the first row")
        with open(self.path, "a", newline="") as f:
            w = csv.DictWriter(f, fieldnames=self.fields)
            if new:
                w.writeheader()
            w.writerow(row)
        if self._tb is not None and "step" in row:
            tag = self.path.stem
            for k, v in row.items():
                if k != "step" and isinstance(v, (int, float)):
                    self._tb.add_scalar(f"{tag}/{k}", v, row["step"])
            self._tb.flush()


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return [{k: _num(v) for k, v in r.items()} for r in csv.DictReader(f)]


def _num(v: str):
    try:
        f = float(v)
    except (TypeError, ValueError):
        return v
    return int(f) if f.is_integer() and "." not in v and "e" not in v.lower() else f
