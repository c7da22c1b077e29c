"""A small filesystem for the disk-full drill: a tmpfs of a chosen size, where a tablespace lives.

Mounting needs root (CAP_SYS_ADMIN). Where that is refused, :class:`CannotMount` says why and the
drill reports that it could not run on this machine — it never pretends the disk filled.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

PAGE = 4096


class CannotMount(RuntimeError):
    pass


def _pages(size: int) -> int:
    """``size`` rounded up to whole pages (tmpfs sizes are in pages).

    >>> _pages(1), _pages(4096), _pages(4097)
    (4096, 4096, 8192)
    """
    return -(-size // PAGE) * PAGE


class SmallVolume:
    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def mount(cls, path: Path, size: int, owner: tuple[int, int]) -> SmallVolume:
        """A tmpfs of ``size`` bytes at ``path`` (created), its root owned by ``owner`` (uid, gid), mode 0700."""
        if shutil.which("mount") is None:
            raise CannotMount("there is no `mount` command on this machine")
        path.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={_pages(size)},mode=0700", "tsr-drill", str(path)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            why = " ".join(done.stderr.split()) or f"exit {done.returncode}"
            hint = "" if os.geteuid() == 0 else " (mounting a filesystem needs root, CAP_SYS_ADMIN)"
            raise CannotMount(f"`mount -t tmpfs` was refused: {why}{hint}")
        os.chown(path, *owner)
        return cls(path)

    def resize(self, size: int) -> None:
        """Grow or shrink the filesystem (not below what it holds)."""
        subprocess.run(["mount", "-o", f"remount,size={_pages(size)}", str(self.path)], check=True,
                       capture_output=True, text=True)

    def used(self) -> int:
        st = os.statvfs(self.path)
        return (st.f_blocks - st.f_bfree) * st.f_frsize

    def size(self) -> int:
        st = os.statvfs(self.path)
        return st.f_blocks * st.f_frsize

    def unmount(self) -> None:
        """Unmount; lazily if something still holds a file open there."""
        if os.path.ismount(self.path):
            if subprocess.run(["umount", str(self.path)], capture_output=True).returncode != 0:
                subprocess.run(["umount", "-l", str(self.path)], capture_output=True)
