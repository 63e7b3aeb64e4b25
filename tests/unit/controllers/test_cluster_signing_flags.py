"""The --cluster-signing-* flags: both files or neither, checked at start, and the signer
runs only with them."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import cast

import pytest

from client.api import ApiClient
from master.controllers import build_controllers
from master.controllers.base import Context
from master.controllers.flags import add_flags, settings_from
from master.controllers.settings import ControllerSettings
from tests.support.certificates import ca_files


def parse(*argv: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    add_flags(p)
    return p.parse_args(list(argv))


def test_both_files_and_a_kubectl_duration_make_the_signer_s_settings(tmp_path: Path) -> None:
    files = ca_files(tmp_path)
    s = settings_from(parse(
        "--cluster-signing-cert-file", str(files.cert_file),
        "--cluster-signing-key-file", str(files.key_file),
        "--cluster-signing-duration", "720h",
    ))  # fmt: skip
    assert (s.cluster_signing_cert_file, s.cluster_signing_key_file) == (
        str(files.cert_file),
        str(files.key_file),
    )
    assert s.cluster_signing_duration == 720 * 3600
    assert settings_from(parse()).cluster_signing_duration == 8760 * 3600


@pytest.mark.parametrize("given", ["cert", "key"])
def test_one_signing_file_without_the_other_is_refused_naming_both_flags(
    tmp_path: Path, given: str
) -> None:
    files = ca_files(tmp_path)
    path = files.cert_file if given == "cert" else files.key_file
    with pytest.raises(SystemExit) as e:
        settings_from(parse(f"--cluster-signing-{given}-file", str(path)))
    message = str(e.value)
    assert "--cluster-signing-cert-file" in message and "--cluster-signing-key-file" in message
    assert f"--cluster-signing-{given}-file is given" in message


def test_a_key_file_that_does_not_match_or_cannot_be_read_is_refused_naming_it(
    tmp_path: Path,
) -> None:
    ours, theirs = ca_files(tmp_path, "ours"), ca_files(tmp_path, "theirs")
    for key_file, problem in (
        (theirs.key_file, "does not match the certificate"),
        (tmp_path / "missing.key", "No such file or directory"),
    ):
        argv = ["--cluster-signing-cert-file", str(ours.cert_file)]
        argv += ["--cluster-signing-key-file", str(key_file)]
        with pytest.raises(SystemExit) as e:
            settings_from(parse(*argv))
        assert str(e.value).startswith(f"--cluster-signing-key-file: key file {key_file}: ")
        assert problem in str(e.value)


def test_a_non_positive_signing_duration_is_refused_naming_the_flag() -> None:
    with pytest.raises(SystemExit, match="--cluster-signing-duration"):
        settings_from(parse("--cluster-signing-duration", "0"))


def test_the_signer_runs_only_with_its_files(tmp_path: Path) -> None:
    files = ca_files(tmp_path)
    client = cast(ApiClient, object())
    unsigned = build_controllers(Context(client, ControllerSettings()))
    assert "csrsigning" not in [c.name for c in unsigned]
    assert "csrcleaner" in [c.name for c in unsigned]
    given = ControllerSettings(
        controllers=("csrsigning",),
        cluster_signing_cert_file=str(files.cert_file),
        cluster_signing_key_file=str(files.key_file),
    )
    assert [c.name for c in build_controllers(Context(client, given))] == ["csrsigning"]
