"""Owner-only files for anything carrying patient data: 0600 files in 0700 folders.

Label jobs, previews and renders hold name, date of birth and MRN, so they get the same
protection as the database and the log. Modes are set explicitly, whatever the umask; a
folder that already exists is left as the user made it (it may be meant to be shared).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700


def private_dir(directory: Path) -> None:
    """Create ``directory`` and any missing parents as 0700 folders.

    Raises:
        OSError: if a folder cannot be created.
    """
    missing = []
    current = directory
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=DIR_MODE)
        except FileExistsError:
            continue  # made by someone else in the meantime: theirs to keep
        folder.chmod(DIR_MODE)  # mkdir's mode is masked by the umask


def write_private(path: Path, data: bytes, *, exclusive: bool = False) -> None:
    """Write ``data`` to ``path`` as a 0600 file (an existing file is tightened to 0600).

    ``exclusive`` refuses to replace a file (``FileExistsError``), so two writers picking
    the same name never overwrite each other. Only regular files are tightened: a device,
    pipe or socket the user names (``/dev/null``, ``/dev/usb/lp0``, a FIFO) is written to
    as it is, since changing its mode would break it for every other program.

    Raises:
        OSError: if the file cannot be written (``FileExistsError`` when ``exclusive``).
    """
    private_dir(path.parent)
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    fd = os.open(path, flags, FILE_MODE)
    try:
        if stat.S_ISREG(os.fstat(fd).st_mode):
            os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "wb", closefd=False) as handle:
            handle.write(data)
    finally:
        os.close(fd)
