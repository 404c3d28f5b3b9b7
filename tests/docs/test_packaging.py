"""The archives that a release uploads: the sdist and the wheel build, pass ``twine check --strict``
(their metadata and the README that PyPI renders) and carry the LICENSE."""

from __future__ import annotations

import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, *map(str, args)], capture_output=True, text=True, timeout=600, check=False, cwd=ROOT
    )
    assert result.returncode == 0, f"{args[:3]} failed:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def archives(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    out = tmp_path_factory.mktemp("dist")
    _run("-m", "build", "--sdist", "--wheel", "--outdir", out, ROOT)
    (sdist,) = out.glob("*.tar.gz")
    (wheel,) = out.glob("*.whl")
    return sdist, wheel


@pytest.mark.slow
def test_twine_accepts_both_archives(archives: tuple[Path, Path]) -> None:
    """``twine check --strict`` passes on the sdist and the wheel (a README that PyPI cannot render fails it)."""
    result = _run("-m", "twine", "check", "--strict", *archives)
    assert result.stdout.count("PASSED") == 2, result.stdout


@pytest.mark.slow
def test_both_archives_carry_the_license(archives: tuple[Path, Path]) -> None:
    """LICENSE is at the root of the sdist and in the wheel's ``.dist-info/licenses/``."""
    sdist, wheel = archives
    license_text = (ROOT / "LICENSE").read_text()
    with tarfile.open(sdist) as archive:
        (top,) = {name.split("/")[0] for name in archive.getnames()}
        member = archive.extractfile(f"{top}/LICENSE")
        assert member is not None
        assert member.read().decode() == license_text
    with zipfile.ZipFile(wheel) as archive:
        licenses = [name for name in archive.namelist() if name.endswith(".dist-info/licenses/LICENSE")]
        assert len(licenses) == 1, archive.namelist()
        assert archive.read(licenses[0]).decode() == license_text
