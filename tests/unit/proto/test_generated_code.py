"""The generated Python must match the .proto sources: `make proto` after every change."""

from pathlib import Path

from proto.generate import ROOT, generate


def test_the_generated_python_is_what_make_proto_would_write(tmp_path: Path) -> None:
    generate(tmp_path)
    fresh = {p.name: p.read_text() for p in (tmp_path / "proto").glob("*_pb2*.py*")}
    committed = {p.name: p.read_text() for p in (ROOT / "proto").glob("*_pb2*.py*")}
    assert fresh, "protoc generated nothing"
    assert sorted(committed) == sorted(fresh), "generated files differ: run `make proto`"
    stale = [name for name in fresh if fresh[name] != committed[name]]
    assert not stale, f"stale generated code (run `make proto`): {stale}"
