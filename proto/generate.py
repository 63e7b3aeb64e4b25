"""Regenerate the Python modules from the .proto sources (`make proto`).

Kept as a module so the staleness test runs exactly the same generation.
"""

from __future__ import annotations

import sys
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent


def generate(out_dir: Path) -> None:
    """Write *_pb2.py, *_pb2.pyi and *_pb2_grpc.py for every proto/*.proto under out_dir."""
    sources = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "proto").glob("*.proto"))
    out_dir.mkdir(parents=True, exist_ok=True)
    args = [
        "protoc",
        f"-I{ROOT}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *sources,
    ]
    if protoc.main(args) != 0:
        raise RuntimeError(f"protoc failed for {sources}")
    # protoc writes a *_pb2_grpc.py for every file; keep only those of files with services.
    for source in sources:
        if "\nservice " not in (ROOT / source).read_text():
            (out_dir / source.replace(".proto", "_pb2_grpc.py")).unlink(missing_ok=True)


if __name__ == "__main__":
    generate(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT)
