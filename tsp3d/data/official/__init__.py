"""Readers of the official TSP3D data: scan pickles (restricted unpickler) and ScanRefer / NR3D / SR3D files."""
from tsp3d.data.official.refer_dataset import ScanReferDataset, is_view_dependent
from tsp3d.data.official.referit import ReferRecord, read_nr3d, read_scanrefer, read_scene_list, read_sr3d
from tsp3d.data.official.scan_pickle import OfficialScan, load_scans, scan_to_scene

__all__ = [
    "ScanReferDataset", "is_view_dependent", "ReferRecord", "read_nr3d", "read_scanrefer", "read_scene_list",
    "read_sr3d", "OfficialScan", "load_scans", "scan_to_scene",
]
