"""A child process of the dev cluster: started with its own log, waited for, stopped.

Children run in their own session (a Ctrl-C in the terminal reaches only our
process, which then stops them in order) and carry a parent-death signal, so
even a ``kill -9`` of the dev cluster takes them down with it.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

PR_SET_PDEATHSIG = 1
_LIBC = ctypes.CDLL("libc.so.6", use_errno=True)  # loaded here: never load a library in a forked child


class StartupError(RuntimeError):
    """A component did not become ready; the message carries the tail of its log."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with(parent: int) -> Callable[[], None]:
    def preexec() -> None:  # runs in the child between fork and exec: only async-signal-safe calls
        if _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL) != 0 or os.getppid() != parent:
            os._exit(70)  # could not tie our life to the parent's, or it is already gone

    return preexec


class ManagedProcess:
    def __init__(
        self,
        name: str,
        argv: Sequence[str | os.PathLike],
        log_path: Path,
        *,
        env: dict[str, str] | None = None,
        user: int | None = None,
        group: int | None = None,
        stop_signal: signal.Signals = signal.SIGTERM,
    ) -> None:
        self.name = name
        self.argv = [str(a) for a in argv]
        self.log_path = log_path
        self.env = env
        self.user = user
        self.group = group
        self.stop_signal = stop_signal
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def start(self) -> ManagedProcess:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                user=self.user,
                group=self.group,
                start_new_session=True,
                preexec_fn=_die_with(os.getpid()),
            )
        return self

    def log_tail(self, lines: int = 25) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log written)"

    def wait_ready(self, probe: Callable[[], bool], timeout: float, interval: float = 0.1) -> None:
        """Poll ``probe`` until it returns true; fail at once if the process exits."""
        if self.proc is None:
            raise RuntimeError(f"{self.name}: start() first")
        deadline = time.monotonic() + timeout
        while True:
            code = self.proc.poll()
            if code is not None:
                raise StartupError(
                    f"{self.name} exited with code {code} while starting; last lines of {self.log_path}:\n"
                    f"{self.log_tail()}"
                )
            if probe():
                return
            if time.monotonic() >= deadline:
                raise StartupError(
                    f"{self.name} was not ready after {timeout:.0f}s; last lines of {self.log_path}:\n{self.log_tail()}"
                )
            time.sleep(interval)

    def stop(self, timeout: float = 20.0) -> None:
        """Ask politely, then kill; always reap."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(self.stop_signal)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
