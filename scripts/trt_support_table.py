#!/usr/bin/env python3
"""Build one release of the TensorRT ONNX operator support table from onnx-tensorrt's ``docs/operators.md``.

The table (``tsp3d/engine/data/trt_onnx_support.json``) is what ``tsp3d check-engine`` checks standard ONNX nodes
against. Each release entry records where its rows came from (repository, path, commit or document release), so
the table can be rebuilt and audited:

    git --git-dir=/work/.mirror/onnx+onnx-tensorrt/repo show 10.1-GA:docs/operators.md > /tmp/operators.md
    python scripts/trt_support_table.py /tmp/operators.md --release 10.3 --document 10.1-GA \\
        --source "onnx/onnx-tensorrt@96e781103cfc4adf4a6bb557e94bac8e693f6f4c:docs/operators.md" \\
        --note "newest operators.md obtainable at or before TensorRT 10.3" --write

Without ``--write`` the entry is printed. The operators.md text itself is never committed (vendor nothing).
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TABLE = REPO / "tsp3d" / "engine" / "data" / "trt_onnx_support.json"

# operators.md type names -> ONNX element type names (onnx.TensorProto.DataType)
TYPE_NAMES = {"FP32": "FLOAT", "FP16": "FLOAT16", "BF16": "BFLOAT16", "INT32": "INT32", "INT64": "INT64",
              "INT8": "INT8", "UINT8": "UINT8", "BOOL": "BOOL", "FP8": "FLOAT8E4M3FN", "FP4": "FLOAT4E2M1",
              "INT4": "INT4", "DOUBLE": "DOUBLE", "INF64": "INT64"}  # "INF64": a typo in some releases


def parse_header(text: str) -> dict:
    m = re.search(r"TensorRT\s+([0-9.]+)\s+supports operators in the inclusive range of opset\s+(\d+)\s+to opset\s+"
                  r"(\d+)", text)
    if m:
        return {"header_release": m.group(1), "opset_min": int(m.group(2)), "opset_max": int(m.group(3))}
    m = re.search(r"TensorRT\s+([0-9.]+)\s+supports operators up to Opset\s+(\d+)", text, re.IGNORECASE)
    if m:
        return {"header_release": m.group(1), "opset_min": 1, "opset_max": int(m.group(2))}
    raise ValueError("no 'TensorRT X supports operators ... opset' header found: not an operators.md?")


def parse_rows(text: str) -> dict:
    """``{op: {"supported", "types", "restrictions"}}`` from the support matrix rows."""
    ops = {}
    in_table = False
    for line in text.splitlines():
        if line.startswith("## Operator Support Matrix"):
            in_table = True
            continue
        if not in_table or not line.startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not cells or not re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", cells[0]) or cells[0] == "Operator":
            continue
        supported = len(cells) > 1 and cells[1].upper().startswith("Y")
        types = []
        if supported and len(cells) > 2:
            for t in (x.strip() for x in cells[2].split(",")):
                if t:
                    if t.upper() not in TYPE_NAMES:
                        raise ValueError(f"{cells[0]}: unknown type {t!r} in operators.md")
                    types.append(TYPE_NAMES[t.upper()])
        rest = cells[3:] if supported else cells[2:]  # an unsupported row may explain itself in column 3
        restrictions = " ".join(c for c in rest if c).strip()
        ops[cells[0]] = {"supported": supported, "types": types, "restrictions": restrictions}
    if not ops:
        raise ValueError("no rows under '## Operator Support Matrix'")
    return ops


def build_entry(text: str, *, document: str, source: str, note: str) -> dict:
    return {"document": document, "source": source, "note": note, **parse_header(text), "ops": parse_rows(text)}


def dump(table: dict) -> str:
    """The table as JSON with one operator per line (reviewable diffs)."""
    lines = ["{", f' "format": {json.dumps(table["format"])},', ' "releases": {']
    releases = list(table["releases"].items())
    for k, (release, entry) in enumerate(releases):
        lines.append(f"  {json.dumps(release)}: {{")
        lines += [f"   {json.dumps(key)}: {json.dumps(entry[key])}," for key in entry if key != "ops"]
        lines.append('   "ops": {')
        ops = list(entry["ops"].items())
        lines += [f"    {json.dumps(op)}: {json.dumps(row)}{',' if i < len(ops) - 1 else ''}" for i, (op, row) in
                  enumerate(ops)]
        lines += ["   }", "  }" + ("," if k < len(releases) - 1 else "")]
    return "\n".join(lines + [" }", "}"]) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("operators_md", type=Path)
    p.add_argument("--release", required=True, help="the TensorRT release this entry stands for (10.3, 10.14, 11)")
    p.add_argument("--document", required=True, help="the onnx-tensorrt release the document belongs to")
    p.add_argument("--source", required=True, help="repository@commit:path (or how the text was obtained)")
    p.add_argument("--note", default="")
    p.add_argument("--write", action="store_true", help=f"merge into {TABLE.relative_to(REPO)}")
    a = p.parse_args(argv)
    try:
        entry = build_entry(a.operators_md.read_text(), document=a.document, source=a.source, note=a.note)
    except (OSError, ValueError) as e:
        print(f"trt_support_table: error: {e}", file=sys.stderr)
        return 1
    if not a.write:
        print(json.dumps(entry, indent=1))
        return 0
    table = json.loads(TABLE.read_text()) if TABLE.is_file() else {"format": "tsp3d-trt-onnx-support/1",
                                                                    "releases": {}}
    table["releases"][a.release] = entry
    table["releases"] = dict(sorted(table["releases"].items(), key=lambda kv: [int(x) for x in kv[0].split(".")]))
    tmp = TABLE.with_suffix(".tmp")
    tmp.write_text(dump(table))
    tmp.replace(TABLE)
    print(f"trt_support_table: {a.release}: {len(entry['ops'])} operators "
          f"({sum(o['supported'] for o in entry['ops'].values())} supported) -> {TABLE.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
