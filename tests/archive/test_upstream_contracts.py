"""Contracts with the private APIs the archive reader overrides: fail loudly when upstream moves.

``reader._GuardedTarInfo`` overrides ``tarfile.TarInfo._proc_member`` and
``_proc_gnusparse_10`` to bound header parsing (AV302), and the reader clears
``TarFile.members`` to keep memory flat. conda-package-streaming's
``tar_generator`` and ``TarfileNoSameOwner`` are its public-but-undocumented
streaming entry. If any of these change shape, these tests fail before a
hostile archive can find out; ``test_checks.test_hostile_tar_headers_are_refused``
shows the hooks still run.
"""

from __future__ import annotations

import inspect
import io
import tarfile

from conda_package_streaming import package_streaming


def test_tarinfo_hooks_we_override_exist_with_their_signatures() -> None:
    """TarInfo._proc_member(self, tarfile) and TarInfo._proc_gnusparse_10(self, ...) exist."""
    proc_member = inspect.signature(tarfile.TarInfo._proc_member)  # type: ignore[attr-defined]
    assert list(proc_member.parameters) == ["self", "tarfile"]
    sparse = inspect.signature(tarfile.TarInfo._proc_gnusparse_10)  # type: ignore[attr-defined]
    assert list(sparse.parameters)[0] == "self"


def test_tarfile_remembers_members_in_a_list() -> None:
    """TarFile.members is the list the reader clears (only extractfile of hardlinks reads it)."""
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        info = tarfile.TarInfo("a")
        tar.addfile(info, io.BytesIO(b""))
    data.seek(0)
    with tarfile.open(fileobj=data) as tar:
        assert next(iter(tar)).name == "a"
        assert isinstance(tar.members, list) and len(tar.members) == 1
        assert isinstance(tar.offset, int)


def test_conda_package_streaming_entry_points() -> None:
    """tar_generator(fileobj, tarfile_open=...) and TarfileNoSameOwner.open(tarinfo=...)."""
    params = inspect.signature(package_streaming.tar_generator).parameters
    assert "tarfile_open" in params
    assert issubclass(package_streaming.TarfileNoSameOwner, tarfile.TarFile)
    assert "tarinfo" in inspect.signature(tarfile.TarFile.__init__).parameters
