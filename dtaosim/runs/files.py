"""Writing output files: atomically, with the permissions the user's umask gives.

Every file dtaosim writes goes through :func:`atomic_write_bytes` (or :func:`write_bytes`): a temporary
file in the destination folder, written, given mode ``0o666 & ~umask``, then renamed over the
destination.  A reader never sees a half-written file, and a failed write leaves nothing behind.
Folders are made with :func:`make_dirs` (mode ``0o777 & ~umask``, as ``mkdir`` gives).

The umask is read from ``/proc/self/status`` (Linux 4.7 and later), which does not change it.  Elsewhere
it is read once, the only way there is (``os.umask`` sets it while it reads it), and kept.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dtaosim.errors import ConfigError

_PROC_STATUS = "/proc/self/status"
_lock = threading.Lock()
_cached_umask: int | None = None


def _umask_from_proc() -> int | None:
    try:
        with open(_PROC_STATUS, encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8) & 0o777
    except (OSError, ValueError, IndexError):
        pass
    return None


def current_umask() -> int:
    """The process's umask, read without changing it where the system allows (see the module docstring)."""
    global _cached_umask
    mask = _umask_from_proc()
    if mask is not None:
        return mask
    with _lock:
        if _cached_umask is None:  # os.umask both sets and returns: set it back at once, and only once
            old = os.umask(0o022)
            os.umask(old)
            _cached_umask = old & 0o777
        return _cached_umask


def file_mode() -> int:
    """Mode of a new file: ``0o666 & ~umask`` (what ``open(path, "w")`` gives)."""
    return 0o666 & ~current_umask()


def dir_mode() -> int:
    """Mode of a new folder: ``0o777 & ~umask`` (what ``mkdir`` gives)."""
    return 0o777 & ~current_umask()


def make_dirs(path: str | Path) -> Path:
    """``mkdir -p``: missing folders get mode ``0o777 & ~umask``; existing ones are left as they are."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    return path


def existing_ancestor(path: str | Path) -> Path:
    """``path`` itself if it exists, else its nearest parent that does (``.`` for a relative path's start)."""
    p = Path(path)
    while not (p.exists() or p.is_symlink()):
        if p.parent == p:
            break
        p = p.parent
    return p


def check_output_folder(path: str | Path, field: str = "out") -> Path:
    """``path`` as a :class:`Path` if results can be written there: an existing folder, or a new one whose
    nearest existing parent is a folder this process may write in.  Else a :class:`ConfigError` naming
    ``field`` (``--out`` on the command line) -- checked before a run, so that nothing runs in vain."""
    p = Path(path)
    if str(path) == "":
        raise ConfigError(f"{field}: '' is not allowed; expected a folder")
    if p.exists() and not p.is_dir():
        raise ConfigError(f"{field}: {str(p)!r} is not allowed; it is an existing file; expected a folder (new or "
                          "existing)")
    base = existing_ancestor(p)
    if not base.is_dir():
        raise ConfigError(f"{field}: {str(p)!r} is not allowed; {str(base)!r} is a file, so no folder can be made "
                          "there")
    if not os.access(base, os.W_OK | os.X_OK):
        raise ConfigError(f"{field}: {str(p)!r} is not allowed; cannot write in {str(base)!r} (permission denied)")
    return p


def atomic_write_bytes(path: str | Path, write: Callable[[Path], Any]) -> None:
    """Write ``path`` through a temporary file in the same folder, then rename: never half-written.

    ``write`` is called with the temporary path and writes the whole file there.  The file gets mode
    ``0o666 & ~umask``.  If ``write`` raises, the temporary file is removed and ``path`` is unchanged.  The
    temporary file is ``.<name>.<pid>.<random>.tmp``: one a killed process left is told by its pid
    (:func:`stale_temporary_files`).
    """
    path = Path(path)
    make_dirs(path.parent)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        os.chmod(tmp, file_mode())  # mkstemp made it 0600; the writer may have replaced it
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` runs (on this machine; one of another user counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stale_temporary_files(folder: str | Path) -> list[Path]:
    """The temporary files of :func:`atomic_write_bytes` under ``folder`` (recursively) whose writer is gone
    (its pid no longer runs, or is this process: a write of this process is never in flight when it asks)."""
    stale = []
    for f in Path(folder).rglob(".*.tmp"):
        parts = f.name[:-len(".tmp")].split(".")
        pid = parts[-2] if len(parts) >= 4 else ""
        if pid.isdigit() and (int(pid) == os.getpid() or not pid_alive(int(pid))):
            stale.append(f)
    return stale


def write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_write_bytes`)."""
    atomic_write_bytes(path, lambda p: p.write_bytes(data))


def write_text(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically (see :func:`atomic_write_bytes`)."""
    write_bytes(path, text.encode("utf-8"))


def keep_temporary_files_in(folder: str | Path) -> Path:
    """Make this process's temporary files and folders (Python's :mod:`tempfile` default) under ``folder``,
    made if missing; returns it resolved.

    For notebooks: the worker processes of a sweep or ensemble need a folder from :mod:`multiprocessing`
    (``pymp-*``) that it removes when the interpreter exits, and a Jupyter kernel shuts down without running
    those exit handlers, so the folder would stay in the system's temporary directory.  Calling this first, with
    a folder beside the notebook, keeps it there."""
    path = make_dirs(folder).resolve()
    tempfile.tempdir = str(path)
    return path
