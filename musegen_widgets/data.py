"""The Bach chorales that ship inside music21: cached, split, augmented and batched (chapter 00).

Nothing is downloaded. :func:`build` parses every chorale of ``music21.corpus`` that has exactly four parts
and one meter (about 30 s), and stores their notes in ``data/chorales.npz``; ``data/MANIFEST.json`` records
its SHA-256, the command that built it and the music21 version. Every loader checks the checksum first; a
missing or corrupt cache is reported with a warning and rebuilt atomically (temporary file, then rename).
The build is byte-identical on every run, which ``python -m musegen_widgets.data check`` verifies.

Splits are **by tune**, not by chorale, so that no hymn tune is in two splits: how the tunes are found
and the groups assigned is :mod:`musegen_widgets.splits`, whose names this module re-exports
(``data.SPLITS``, ``data.shared_tunes``, ``data.split_groups``, ``data.split_by_path``, ``data.retrograde``).

Command line::

    python -m musegen_widgets.data build   # rebuild data/chorales.npz and its manifest entry
    python -m musegen_widgets.data check   # verify the checksum and that a rebuild is byte-identical
"""

from __future__ import annotations

import functools
import io
import os
import sys
import warnings
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from . import encoding, files
from .encoding import MAX_PITCH, MIN_PITCH
from .errors import MusegenError
from .files import data_dir
from .piece import Piece
from .splits import SPLIT_SHARES, SPLITS, retrograde, shared_tunes, split_by_path, split_groups

__all__ = [
    "SPLITS",
    "CACHE_NAME",
    "data_dir",
    "build",
    "verify",
    "chorale_ids",
    "tune_groups",
    "shared_tunes",
    "split_groups",
    "split_by_path",
    "retrograde",
    "time_signatures",
    "load_pieces",
    "load_melodies",
    "load_melodies_split_by_path",
    "load_pianorolls",
    "load_frames",
    "transpose_melody",
    "ALL_KEYS",
    "transpositions",
    "augmented",
    "excerpts",
]

CACHE_NAME = "chorales.npz"
BUILD_COMMAND = "python -m musegen_widgets.data build"


# ------------------------------------------------------------------------------------------- building


def _parse_chorale(corpus_id: str) -> tuple[str, Piece | None, str]:
    """Parse one chorale; ``None`` with the reason when it is left out."""
    import music21

    score = music21.corpus.parse(corpus_id)
    if len(score.parts) != 4:
        return corpus_id, None, f"{len(score.parts)} parts"
    meters = {ts.ratioString for ts in score.recurse().getElementsByClass(music21.meter.TimeSignature)}
    if len(meters) != 1:
        return corpus_id, None, f"meter changes {sorted(meters)}"
    return corpus_id, encoding.to_piece(score), ""


def corpus_paths() -> list[str]:
    """Corpus identifiers of all chorales music21 bundles, without its iterator's repeats, sorted."""
    import music21

    return sorted(set(music21.corpus.chorales.Iterator(returnType="filename")))


def _npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """An ``.npz`` archive with fixed timestamps, so the same arrays always give the same bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, array in arrays.items():
            member = io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, member.getvalue())
    return buffer.getvalue()


def _cache_bytes(processes: int = 2, progress: bool = True) -> tuple[bytes, dict, dict]:
    paths = corpus_paths()
    if processes > 1:
        import multiprocessing

        with multiprocessing.get_context("spawn").Pool(processes) as pool:
            results = []
            for i, result in enumerate(pool.imap(_parse_chorale, paths, chunksize=4)):
                results.append(result)
                if progress and ((i + 1) % 50 == 0 or i + 1 == len(paths)):
                    print(f"parsed {i + 1}/{len(paths)} chorales", file=sys.stderr)
    else:
        results = [_parse_chorale(p) for p in paths]
    kept = [(cid, piece) for cid, piece, _ in results if piece is not None]
    skipped = {cid: why for cid, piece, why in results if piece is None}
    notes = [
        [index, voice, *note]
        for index, (_, piece) in enumerate(kept)
        for voice, voice_notes in enumerate(piece.voices)
        for note in voice_notes.tolist()
    ]
    ids = [cid for cid, _ in kept]
    groups, evidence = shared_tunes([encoding.encode_melody(piece) for _, piece in kept])
    tune = np.empty(len(ids), dtype=np.int32)
    for number, group in enumerate(groups):
        tune[group] = number
    split = split_groups([[ids[i] for i in group] for group in groups])
    arrays = {
        "ids": np.array(ids),
        "splits": np.array([split[cid] for cid in ids]),
        "tunes": tune,
        "time_signatures": np.array([piece.time_signature for _, piece in kept]),
        "notes": np.array(notes, dtype=np.int32),  # chorale, voice, pitch, start, end
    }
    how = {
        **evidence,
        "groups": len(groups),
        "chorales": {name: int((arrays["splits"] == name).sum()) for name in SPLIT_SHARES},
        "shared_tunes": [[ids[i] for i in group] for group in groups if len(group) > 1],
    }
    return _npz_bytes(arrays), skipped, how


def build(folder: str | os.PathLike | None = None, *, processes: int = 2, progress: bool = True) -> Path:
    """Parse the corpus and (re)write the chorale cache and its manifest entry, atomically.

    Taught in chapter 00, section 3 (the Bach chorales).

    Parameters
    ----------
    folder
        Where to write; default :func:`data_dir`.
    processes
        Worker processes for parsing (the machine the course targets has 2 cores).
    progress
        Print a progress line to stderr.

    Returns
    -------
    pathlib.Path
        The cache file.
    """
    import music21

    folder = Path(folder) if folder is not None else data_dir()
    folder.mkdir(parents=True, exist_ok=True)
    data, skipped, split = _cache_bytes(processes, progress)
    cache = folder / CACHE_NAME
    files.write_atomically(cache, data)
    files.record_in_manifest(
        cache,
        {
            "bytes": len(data),
            "built_by": BUILD_COMMAND,
            "source": "music21.corpus.chorales.Iterator, deduplicated by corpus path, four parts, one meter",
            "music21": music21.__version__,
            "skipped": skipped,
            "split": {
                "method": (
                    "by tune: sopranos linked by a shared run of notes (intervals and lengths, or intervals "
                    "alone) one note longer than the longest run any soprano shares with another soprano "
                    "played backwards; linked chorales form one group; whole groups go to train, valid or "
                    "test, about 80/10/10, in the order of the SHA-256 of their first corpus id"
                ),
                "why": (
                    "Bach harmonised many hymn tunes several times; a split by chorale puts one tune in "
                    "train and test, so held-out scores reward memorising tunes"
                ),
                **split,
            },
        },
    )
    _cache.cache_clear()
    return cache


def verify(folder: str | os.PathLike | None = None) -> Path:
    """Check the cache against its manifest; raise :class:`MusegenError` saying what is wrong.

    Taught in chapter 00, section 3 (the Bach chorales).
    """
    cache = Path(folder if folder is not None else data_dir()) / CACHE_NAME
    files.checked_entry(cache, "the chorale cache", f"run `{BUILD_COMMAND}`")
    return cache


@functools.lru_cache(maxsize=4)
def _cache(folder: Path) -> dict[str, np.ndarray]:
    try:
        cache = verify(folder)
    except MusegenError as problem:
        warnings.warn(f"{problem}. Rebuilding it from music21's corpus now (about 30 s).", stacklevel=4)
        cache = build(folder)
    with np.load(cache, allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}


def _table() -> dict[str, np.ndarray]:
    return _cache(data_dir().resolve())


def _indices(split: str) -> np.ndarray:
    if split not in (*SPLITS, "all"):
        raise MusegenError(f"split must be one of {', '.join(SPLITS)} or 'all', not {split!r}")
    splits = _table()["splits"]
    return np.arange(len(splits)) if split == "all" else np.flatnonzero(splits == split)


# -------------------------------------------------------------------------------------------- loading


def chorale_ids(split: str = "train") -> list[str]:
    """Corpus identifiers (such as ``'bach/bwv269'``) of one split, in cache order.

    Taught in chapter 00, section 3 (the Bach chorales).

    >>> len(chorale_ids("train")) + len(chorale_ids("valid")) + len(chorale_ids("test")) == len(chorale_ids("all"))
    True
    """
    return _table()["ids"][_indices(split)].tolist()


def time_signatures(split: str = "train") -> list[str]:
    """The meter of each chorale of a split, aligned with :func:`chorale_ids`.

    Taught in chapter 00, section 5 (three ways to write music as numbers).
    """
    return _table()["time_signatures"][_indices(split)].tolist()


def tune_groups(split: str = "all") -> list[list[str]]:
    """The chorales of a split grouped by the tune of their soprano (see :func:`shared_tunes`), each group
    a sorted list of corpus ids; a tune harmonised once is a group of one.

    Taught in chapter 00, section 3 (the Bach chorales).

    >>> any(len(group) > 1 for group in tune_groups("train"))
    True
    """
    table, chosen = _table(), _indices(split)
    groups: dict[int, list[str]] = {}
    for tune, cid in zip(table["tunes"][chosen].tolist(), table["ids"][chosen].tolist()):
        groups.setdefault(tune, []).append(cid)
    return [sorted(group) for _, group in sorted(groups.items())]


@functools.lru_cache(maxsize=1)
def _all_pieces(folder: Path) -> tuple[Piece, ...]:
    table = _cache(folder)
    notes = table["notes"].astype(np.int64)
    bounds = np.searchsorted(notes[:, 0], np.arange(len(table["ids"]) + 1))
    pieces = []
    for i, (cid, meter) in enumerate(zip(table["ids"].tolist(), table["time_signatures"].tolist())):
        rows = notes[bounds[i] : bounds[i + 1]]
        voices = tuple(rows[rows[:, 1] == v][:, 2:] for v in range(4))
        pieces.append(Piece(voices, meter, cid))
    return tuple(pieces)


def load_pieces(split: str = "train", *, meter: str | None = None) -> list[Piece]:
    """The chorales of a split as :class:`~musegen_widgets.piece.Piece` (four voices, SATB).

    Taught in chapter 00, section 3 (the Bach chorales).

    Parameters
    ----------
    split
        ``"train"``, ``"valid"``, ``"test"`` or ``"all"``.
    meter
        Only the chorales in this time signature (such as ``"4/4"``); default: all of them.
    """
    pieces = _all_pieces(data_dir().resolve())
    chosen = [pieces[i] for i in _indices(split)]
    return chosen if meter is None else [piece for piece in chosen if piece.time_signature == meter]


def load_melodies(split: str = "train", *, meter: str | None = None) -> list[np.ndarray]:
    """Soprano melody tokens, one 1-D ``int64`` array per chorale (see :func:`encoding.encode_melody`).

    Taught in chapter 00, section 5 (melody tokens). ``meter`` as in :func:`load_pieces`.

    >>> melody = load_melodies("test")[0]
    >>> melody.ndim, bool(melody.max() < encoding.VOCAB_SIZE)
    (1, True)
    """
    return [encoding.encode_melody(piece) for piece in load_pieces(split, meter=meter)]


def load_melodies_split_by_path(split: str = "train") -> list[np.ndarray]:
    """Soprano melody tokens of one split of the old split by chorale (:func:`split_by_path`), in cache order.

    Taught in chapter 00, section 3, and chapter 04, section 2: what that split leaked, the same tune in
    ``train`` and ``test``.

    >>> sum(len(load_melodies_split_by_path(s)) for s in SPLITS) == len(load_melodies("all"))
    True
    """
    if split not in SPLITS:
        raise MusegenError(f"split must be one of {', '.join(SPLITS)}, not {split!r}")
    return [
        encoding.encode_melody(piece) for piece in load_pieces("all") if split_by_path(piece.title) == split
    ]


def load_pianorolls(split: str = "train", *, meter: str | None = None) -> list[np.ndarray]:
    """Four-voice piano rolls, one boolean ``(4, steps, pitch)`` array per chorale (SATB order).

    Taught in chapter 00, section 5 (piano rolls). ``meter`` as in :func:`load_pieces`.
    """
    return [encoding.encode_pianoroll(piece) for piece in load_pieces(split, meter=meter)]


def load_frames(split: str = "train", *, meter: str | None = None) -> list[np.ndarray]:
    """JSB-style frames, one boolean ``(quarters, 88)`` array per chorale (see :func:`encoding.encode_frames`).

    Taught in chapter 00, section 5 (frames). ``meter`` as in :func:`load_pieces`.
    """
    return [encoding.encode_frames(piece) for piece in load_pieces(split, meter=meter)]


# ------------------------------------------------------------------------------ augmenting, cutting


ALL_KEYS = range(-6, 6)
"""The transpositions of augmentation: every key once, from a tritone down to a fourth up."""


def transpose_melody(tokens: np.ndarray, semitones: int) -> np.ndarray:
    """Melody tokens moved by ``semitones``; ``HOLD`` and ``REST`` stay.

    Taught in chapter 00, section 6 (augmentation). Raises :class:`MusegenError` if a note would leave the
    melody range.

    >>> from musegen_widgets.encoding import pitch_to_token, HOLD
    >>> transpose_melody(np.array([pitch_to_token(60), HOLD]), 2).tolist() == [pitch_to_token(62), HOLD]
    True
    """
    tokens = np.asarray(tokens)
    if encoding.is_note(tokens).any() and not _fitting_shifts(tokens, [semitones]):
        raise MusegenError(f"transposing by {semitones} takes the melody outside {MIN_PITCH}-{MAX_PITCH}")
    return _transposed(tokens, semitones)


def _pitch_range(music: np.ndarray) -> tuple[int, int, int, int]:
    """Lowest and highest pitch index used, and the lowest and highest allowed, of melody tokens, frames
    or piano rolls; ``(0, -1, ...)`` without notes."""
    if music.dtype == bool:  # frames (time, keys) or rolls (voices, time, pitches): pitch is the last axis
        used = np.flatnonzero(music.reshape(-1, music.shape[-1]).any(axis=0))
        allowed = (0, music.shape[-1] - 1)
    else:  # melody tokens: the first two are HOLD and REST
        used, allowed = music[encoding.is_note(music)], (encoding.FIRST_PITCH_TOKEN, encoding.VOCAB_SIZE - 1)
    return (int(used.min()), int(used.max()), *allowed) if len(used) else (0, -1, *allowed)


def _fitting_shifts(music: np.ndarray, shifts: Iterable[int] = ALL_KEYS) -> list[int]:
    low, high, lowest, highest = _pitch_range(music)
    return [s for s in shifts if high >= low and low + s >= lowest and high + s <= highest]


def _transposed(music: np.ndarray, semitones: int) -> np.ndarray:
    if music.dtype == bool:
        return np.roll(music, semitones, axis=-1)
    return music + np.where(encoding.is_note(music), semitones, 0)


def transpositions(music: np.ndarray, *, shifts: Iterable[int] = ALL_KEYS) -> list[np.ndarray]:
    """Every transposition by ``shifts`` (default :data:`ALL_KEYS`) that stays in range, in that order.

    Taught in chapter 00, section 6 (augmentation). ``music`` is one melody (tokens), one set of frames or
    one piano roll; pitches never wrap around. A piece without notes has no transpositions.

    >>> len(transpositions(load_melodies("test")[0]))
    12
    >>> frames = load_frames("test")[0]
    >>> bool((np.flatnonzero(transpositions(frames, shifts=[2])[0][0]) == np.flatnonzero(frames[0]) + 2).all())
    True
    """
    music = np.asarray(music)
    return [_transposed(music, s) for s in _fitting_shifts(music, shifts)]


def augmented(collection: Sequence[np.ndarray]) -> list[np.ndarray] | np.ndarray:
    """Every piece of ``collection`` in every key that fits (its :func:`transpositions`), piece by piece.

    Taught in chapter 00, section 6 (augmentation). A list gives a list; a stacked array of equal pieces
    (such as ``(n, 4, 32, 72)`` piano-roll passages) gives one array, filled in place without a list of
    copies (the GAN's augmented passages fill hundreds of megabytes: held once, not twice).

    >>> len(augmented(load_melodies("test"))) > 10 * len(load_melodies("test"))
    True
    """
    if not isinstance(collection, np.ndarray):
        return [moved for music in collection for moved in transpositions(music)]
    pairs = [(i, s) for i, music in enumerate(collection) for s in _fitting_shifts(music)]
    if not pairs:
        raise MusegenError("no piece has notes to transpose")
    moved = np.empty((len(pairs), *collection.shape[1:]), dtype=collection.dtype)
    for row, (i, s) in enumerate(pairs):
        moved[row] = _transposed(collection[i], s)
    return moved


def excerpts(collection: Sequence[np.ndarray], *, steps: int, hop: int | None = None) -> np.ndarray:
    """Cut pieces into excerpts of ``steps`` steps for training and comparing: one stacked array.

    Taught in chapter 00, section 6 (batches). Excerpts start every ``hop`` steps (default ``steps``: no
    overlap) from each piece's first step and never cross from one piece to the next; a piece shorter than
    ``steps`` gives none, and excerpts without a single note are left out (none at all: an empty array).
    Time is the first axis of melody tokens and frames and the second of piano rolls ``(voices, time,
    pitches)``.

    >>> excerpts([np.arange(10), np.arange(3)], steps=4, hop=3).tolist()
    [[0, 1, 2, 3], [3, 4, 5, 6], [6, 7, 8, 9]]
    """
    if not (isinstance(steps, (int, np.integer)) and steps >= 1) or (hop is not None and hop < 1):
        raise MusegenError(f"excerpt steps and hop must be positive whole numbers, got {steps} and {hop}")
    hop = hop or steps
    cut = []
    for music in collection:
        music = np.asarray(music)
        axis = 1 if music.ndim == 3 else 0
        for start in range(0, music.shape[axis] - steps + 1, hop):
            excerpt = music[:, start : start + steps] if axis else music[start : start + steps]
            if excerpt.any() if music.dtype == bool else encoding.is_note(excerpt).any():
                cut.append(excerpt)
    if not cut:  # none: an empty stack of the right shape
        first = np.asarray(collection[0]) if len(collection) else np.zeros(0, np.int64)
        shape = (first.shape[0], steps, *first.shape[2:]) if first.ndim == 3 else (steps, *first.shape[1:])
        return np.zeros((0, *shape), first.dtype)
    return np.stack(cut)


def _main(argv: list[str]) -> int:
    command = argv[0] if argv else "build"
    if command == "build":
        path = build()
        print(f"wrote {path} ({len(_table()['ids'])} chorales)")
        return 0
    if command == "check":
        folder = data_dir()
        verify(folder)
        expected = (folder / CACHE_NAME).read_bytes()
        rebuilt, _, _ = _cache_bytes()
        if rebuilt != expected:
            print(f"{folder / CACHE_NAME}: a rebuild gives different bytes", file=sys.stderr)
            return 1
        print(f"{folder / CACHE_NAME}: checksum matches the manifest and a rebuild is byte-identical")
        return 0
    print(
        f"usage: python -m musegen_widgets.data [build|check]; unknown command {command!r}", file=sys.stderr
    )
    return 2


if __name__ == "__main__":
    from musegen_widgets import data as _module  # the importable module, so that worker processes find it

    try:
        sys.exit(_module._main(sys.argv[1:]))
    except MusegenError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
