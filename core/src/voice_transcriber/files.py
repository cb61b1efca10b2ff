"""Private files and directories: 0700 directories and 0600 files whatever the umask, never through a symlink.

Everything voice-transcriber writes (config.json from ``config init``, the history, the
recordings, logs, runtime state) may hold what the user said or an API key, and a config
file can run commands (formatter ``command``). So a directory it creates is 0700 and a
file 0600 whatever the umask, and it never writes through a symlink or into a file that
belongs to someone else: another user (or a program) that planted a link must not receive
transcripts, nor have a file of its choosing overwritten. voice-transcriber never makes
symlinks itself, so every symlink met where it writes was made by someone else.
"""

from __future__ import annotations

import errno
import os
import stat

TYPE_CHECKING = False  # no pathlib at run time: the hotkey commands use these before anything heavy loads
if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["UnsafePathError", "open_private", "private_dir", "write_private_atomic"]

#: Directory and file modes, applied explicitly after creation (the umask only removes bits).
DIR_MODE = 0o700
FILE_MODE = 0o600


class UnsafePathError(PermissionError):
    """A path voice-transcriber was about to write is a symlink, not a regular file, or not the user's.

    An :class:`OSError` (so every writer's existing ``except OSError`` handles it); ``strerror``
    is the one line shown to the user, naming the path and the fix.
    """

    def __init__(self, path: Path | str, message: str) -> None:
        super().__init__(errno.EPERM, message, str(path))

    def __str__(self) -> str:
        return str(self.strerror)


def private_dir(folder: Path | str, *, follow_symlink: bool = False) -> Path | str:
    """Create ``folder`` and its missing parents 0700; refuse a symlink (unless ``follow_symlink``) or another user's.

    ``follow_symlink`` is for directories the user may have linked on purpose (a dotfiles
    manager's ``~/.config/voice-transcriber``): the directory linked to must then be the user's.
    An existing directory's mode is left as the user set it; one created here is 0700.
    """
    _make_dirs(folder)
    info = os.stat(folder) if follow_symlink else os.lstat(folder)
    if stat.S_ISLNK(info.st_mode):
        raise UnsafePathError(folder, f"{folder} is a symlink to {os.readlink(folder)}: voice-transcriber does not "
                                      "write through links it did not make (remove the link, or make it a real directory)")
    if not stat.S_ISDIR(info.st_mode):
        raise UnsafePathError(folder, f"{folder} is not a directory (move it away)")
    if info.st_uid != os.getuid():
        raise UnsafePathError(folder, f"{folder} belongs to another user (uid {info.st_uid}); remove it or pick another directory")
    return folder


def _make_dirs(folder: Path | str) -> None:
    missing = []
    path = os.fspath(folder)
    while not os.path.lexists(path) and path != os.path.dirname(path):
        missing.append(path)
        path = os.path.dirname(path)
    for path in reversed(missing):
        try:
            os.mkdir(path, DIR_MODE)
        except FileExistsError:  # made by a concurrent run: check it below like any existing one
            continue
        os.chmod(path, DIR_MODE)  # a umask such as 0777 would have left it 0000


def open_private(path: Path | str, flags: int) -> int:
    """``os.open`` for writing a private file: created 0600, never through a symlink, only a regular file of the user's.

    Raises :class:`UnsafePathError` (an OSError) naming the path and the fix.
    """
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, FILE_MODE)
    except OSError as exc:
        if exc.errno == errno.ELOOP and os.path.islink(path):
            raise refuse_symlink(path) from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UnsafePathError(path, f"{path} is not a regular file (move it away)")
        if info.st_uid != os.getuid():
            raise UnsafePathError(path, f"{path} belongs to another user (uid {info.st_uid}); remove it")
        if stat.S_IMODE(info.st_mode) != FILE_MODE:
            os.fchmod(fd, FILE_MODE)
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def write_private_atomic(path: Path | str, text: str) -> None:
    """Replace ``path`` with ``text`` (UTF-8) at once: written to a private file beside it (:func:`open_private`,
    in a :func:`private_dir`), then renamed over it, so that a reader sees the old file or the new one."""
    folder, name = os.path.split(os.fspath(path))
    private_dir(folder)
    tmp = os.path.join(folder, f".{name}.{os.getpid()}.tmp")
    with os.fdopen(open_private(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(tmp, path)


def refuse_symlink(path: Path | str) -> UnsafePathError:
    """The error for a symlink found where voice-transcriber writes a file."""
    try:
        target = os.readlink(path)
    except OSError:
        target = "?"
    return UnsafePathError(path, f"{path} is a symlink to {target}: voice-transcriber does not write through links "
                                 f"it did not make (remove the link: `rm {path}`; the file it points to is left alone)")
