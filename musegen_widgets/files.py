"""Files the course writes and trusts: atomic writes, the data folder and its checksum manifest (chapter 00).

Every cache and every set of weights lives in :func:`data_dir` beside ``MANIFEST.json``, which records for
each file its SHA-256 and how it was built (the command, the settings, the held-out scores). Nothing is
written in place: :func:`write_atomically` writes a temporary file and renames it, so an interrupted run
never leaves half a file, and :func:`checked_entry` refuses a file whose bytes are not the ones recorded.

>>> entry = read_manifest()["melody_lstm.weights.h5"]
>>> entry["built_by"]
'python -m musegen_widgets.train melody_lstm'
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import os
import tempfile
from pathlib import Path

from .errors import MusegenError

__all__ = [
    "MANIFEST_NAME",
    "data_dir",
    "write_atomically",
    "sha256",
    "read_manifest",
    "record_in_manifest",
    "checked_entry",
]

MANIFEST_NAME = "MANIFEST.json"


def data_dir() -> Path:
    """Folder of caches and weights: ``$MUSEGEN_DATA_DIR`` if set; else the repository's ``data/`` when the
    package runs from a checkout; else the copy a wheel installs with the package (``share/musegen-widgets/data``
    under the environment's prefix).

    Taught in chapter 00, section 6 (the data pipeline).
    """
    if "MUSEGEN_DATA_DIR" in os.environ:
        return Path(os.environ["MUSEGEN_DATA_DIR"])
    checkout = Path(__file__).resolve().parent.parent / "data"
    if (checkout / MANIFEST_NAME).exists():
        return checkout
    return _installed_data_dir() or checkout


@functools.cache
def _installed_data_dir() -> Path | None:
    """Where the installed distribution put its data files, from its record of installed files."""
    try:
        distribution = importlib.metadata.distribution("musegen-widgets")
    except importlib.metadata.PackageNotFoundError:
        return None
    for file in distribution.files or []:
        if file.as_posix().endswith(f"share/musegen-widgets/data/{MANIFEST_NAME}"):
            return Path(distribution.locate_file(file)).resolve().parent
    return None


def write_atomically(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder, then rename it; returns the path.

    A reader sees the old file or the new one, never part of one. Taught in chapter 00, section 7 (bring
    your own music).
    """
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp makes files private; give the usual permissions
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def sha256(path: str | os.PathLike) -> str:
    """The SHA-256 of a file's bytes, in hex (what the manifest records).

    Taught in chapter 00, section 6 (the data pipeline).
    """
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def read_manifest(folder: str | os.PathLike | None = None) -> dict:
    """The manifest of ``folder`` (default :func:`data_dir`) as a dict by file name; empty if there is none.

    Taught in chapter 01, section 5 (training), where it shows how the shipped LSTM was trained.

    Raises
    ------
    MusegenError
        If the manifest is not valid JSON.
    """
    path = Path(folder if folder is not None else data_dir()) / MANIFEST_NAME
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise MusegenError(f"the manifest is not valid JSON ({error}); fix or delete it", path) from None


def record_in_manifest(path: str | os.PathLike, entry: dict) -> None:
    """Record the file at ``path`` in its folder's manifest: its SHA-256 and ``entry``, keeping the others.

    The manifest is rewritten atomically. Taught in chapter 00, section 6 (the data pipeline).
    """
    path = Path(path)
    manifest = read_manifest(path.parent)
    manifest[path.name] = {"sha256": sha256(path), **entry}
    text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    write_atomically(path.parent / MANIFEST_NAME, text.encode())


def checked_entry(path: str | os.PathLike, what: str, rebuild: str) -> dict:
    """The manifest entry of the file at ``path``, after checking that its bytes are the recorded ones.

    Taught in chapter 00, section 6 (the data pipeline).

    Parameters
    ----------
    path
        The cache or weights file.
    what
        What the file is, for messages (``"the chorale cache"``, ``"the weights"``).
    rebuild
        How to rebuild it, for messages (``"run `python -m musegen_widgets.data build`"``).

    Raises
    ------
    MusegenError
        Naming the file, if it is missing, not in the manifest or corrupt.
    """
    path = Path(path)
    entry = read_manifest(path.parent).get(path.name)
    if entry is None:
        raise MusegenError(f"{what} is not in the manifest; {rebuild}", path.parent / MANIFEST_NAME)
    if not path.exists():
        raise MusegenError(f"{what} is missing; {rebuild}", path)
    digest = sha256(path)
    if digest != entry["sha256"]:
        raise MusegenError(
            f"{what} is corrupt (SHA-256 {digest[:12]}… is not the manifest's {entry['sha256'][:12]}…); {rebuild}",
            path,
        )
    return entry
