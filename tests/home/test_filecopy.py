"""A file of its own (:func:`codex_fixtures.home.filecopy.clone_or_copy`): what template and built homes copy with."""

from __future__ import annotations

import os

import pytest
from codex_fixtures.home.filecopy import clone_or_copy


def test_a_copy_is_a_file_of_its_own_with_the_same_mode(tmp_path):
    """A clone where the filesystem has one, else (ext4, tmpfs) a plain copy: never the same inode."""
    src = tmp_path / "run.sh"
    src.write_text("#!/bin/sh\n")
    src.chmod(0o755)
    clone_or_copy(str(src), str(tmp_path / "copy.sh"))
    assert (tmp_path / "copy.sh").read_text() == "#!/bin/sh\n" and ((tmp_path / "copy.sh").stat().st_mode & 0o777) == 0o755
    assert (tmp_path / "copy.sh").stat().st_ino != src.stat().st_ino
    with pytest.raises(FileExistsError):
        clone_or_copy(str(src), str(tmp_path / "copy.sh"))


@pytest.mark.parametrize("refused", [(), ("copy_file_range",), ("copy_file_range", "sendfile")])
def test_a_copy_falls_back_when_the_kernel_copies_are_refused(tmp_path, monkeypatch, refused):
    data = os.urandom(3 << 20)
    (tmp_path / "src").write_bytes(data)

    def refuse(*args):
        raise OSError(18, "Invalid cross-device link")

    for name in refused:
        monkeypatch.setattr(os, name, refuse)
    clone_or_copy(str(tmp_path / "src"), str(tmp_path / "dst"))
    assert (tmp_path / "dst").read_bytes() == data
