"""The Bach chorales that ship inside music21: cached, split, augmented and batched (chapter 00).

Nothing is downloaded. :func:`build` parses every chorale of ``music21.corpus`` that has exactly four parts
and one meter (about 30 s), and stores their notes in ``data/chorales.npz``; ``data/MANIFEST.json`` records
its SHA-256, the command that built it and the music21 version. Every loader checks the checksum first; a
missing or corrupt cache is reported with a warning and rebuilt atomically (temporary file, then rename).
The build is byte-identical on every run, which ``python -m musegen_widgets.data check`` verifies.

Splits are **by tune**. Bach harmonised many hymn tunes more than once, and the corpus keeps each
harmonisation as its own chorale, so a split by chorale puts the same soprano melody in ``train`` and in
``test``: a model that memorises tunes then scores well on held-out music it has already seen. Two chorales
share a tune when their sopranos share a run of notes longer than any run a soprano shares with another
soprano played backwards (:func:`shared_tunes`; by intervals and lengths, and by intervals alone to find one
tune in two meters); chorales linked by such runs form one group, and whole groups go to ``train``,
``valid`` or ``test`` (about 80/10/10, :func:`split_groups`). The groups, the thresholds and the reason are
recorded in ``data/MANIFEST.json``. :func:`split_by_path`, the earlier split by a hash of each chorale's
corpus path, is kept for chapter 04's lesson of what a leaky split rewards. Neither is the 229/76/77 split
of the JSB Chorales benchmark (Boulanger-Lewandowski et al., 2012), which was made from a different MIDI
collection, so likelihoods here are close to that table but not strictly comparable.

Command line::

    python -m musegen_widgets.data build   # rebuild data/chorales.npz and its manifest entry
    python -m musegen_widgets.data check   # verify the checksum and that a rebuild is byte-identical
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import os
import sys
import warnings
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from . import encoding
from .encoding import MAX_PITCH, MIN_PITCH, Piece
from .errors import MusegenError

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
    "load_pianorolls",
    "load_frames",
    "transpose_melody",
    "transpositions",
    "frame_transpositions",
    "windows",
]

SPLITS = ("train", "valid", "test")
CACHE_NAME = "chorales.npz"
MANIFEST_NAME = "MANIFEST.json"
BUILD_COMMAND = "python -m musegen_widgets.data build"


def data_dir() -> Path:
    """Folder of caches and weights: ``$MUSEGEN_DATA_DIR`` if set, else the repository's ``data/``."""
    return Path(os.environ.get("MUSEGEN_DATA_DIR", Path(__file__).resolve().parent.parent / "data"))


# ------------------------------------------------------------------------------------------- building


SPLIT_SHARES = {"train": 0.8, "valid": 0.1, "test": 0.1}


def split_by_path(corpus_id: str) -> str:
    """The course's first split, by chorale: ``test`` when the SHA-256 of the corpus path is 0 modulo 10,
    ``valid`` when 1, else ``train``. It leaks tunes from ``train`` into ``test``; chapter 04 shows what that
    rewards. The course's split is by tune (:func:`chorale_ids`).

    >>> split_by_path("bach/bwv269")
    'train'
    """
    bucket = int(hashlib.sha256(corpus_id.encode()).hexdigest(), 16) % 10
    return "test" if bucket == 0 else "valid" if bucket == 1 else "train"


def retrograde(tokens: np.ndarray) -> np.ndarray:
    """A melody played backwards: its notes and rests in reverse order, each as long as before.

    Its intervals are the original's, negated and reversed: a melody with the same steps, leaps and rhythms
    as a chorale, but not its tune. :func:`shared_tunes` measures what unrelated melodies share with it.

    >>> from musegen_widgets.encoding import pitch_to_token as t, HOLD
    >>> retrograde(np.array([t(60), HOLD, t(62), t(64)])).tolist() == [t(64), t(62), t(60), HOLD]
    True
    """
    tokens = np.asarray(tokens)
    return np.concatenate(np.split(tokens, np.flatnonzero(tokens != encoding.HOLD))[::-1])


def _components(n: int, linked: np.ndarray) -> list[list[int]]:
    """Connected components of ``n`` items joined by the ``True`` entries of a square matrix, each sorted."""
    root = list(range(n))

    def find(i: int) -> int:
        while root[i] != i:
            root[i] = root[root[i]]
            i = root[i]
        return i

    for i, j in zip(*np.nonzero(linked)):
        root[find(int(i))] = find(int(j))
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(find(i), []).append(i)
    return sorted(groups.values())


def shared_tunes(melodies: Sequence[np.ndarray]) -> tuple[list[list[int]], dict]:
    """Group melodies that share a tune: a run of notes longer than chance allows links two of them.

    Chance is measured, not assumed: every melody is compared with every other melody played backwards
    (:func:`retrograde`), which has the same steps, leaps and note lengths but is no hymn tune, and the
    longest run any such pair shares sets the bar. Two melodies are linked when they share a run one note
    longer than that, by intervals and lengths, or, comparing intervals alone (one tune in two meters),
    one note longer than chance by intervals; groups are the chains of links.

    Returns
    -------
    groups
        Lists of indices into ``melodies``, one list per tune, sorted.
    evidence
        The thresholds and the chance levels they come from (``{"rhythm": {...}, "intervals": {...}}``).
    """
    from .metrics import shared_runs

    backwards = [retrograde(m) for m in melodies]
    off_diagonal = ~np.eye(len(melodies), dtype=bool)
    linked = np.zeros_like(off_diagonal)
    evidence = {}
    for key, rhythm in (("intervals_and_lengths", True), ("intervals", False)):
        chance = shared_runs(melodies, backwards, rhythm=rhythm)
        threshold = int(chance[off_diagonal].max()) + 1
        tune_pairs = (shared_runs(melodies, melodies, rhythm=rhythm) >= threshold) & off_diagonal
        linked |= tune_pairs
        evidence[key] = {
            "threshold_notes": threshold,
            "longest_chance_run": threshold - 1,
            "pairs_compared_with_retrogrades": int(off_diagonal.sum()),
            "linked_pairs": int(tune_pairs.sum() // 2),
        }
    return _components(len(melodies), linked), evidence


def split_groups(groups: Sequence[Sequence[str]]) -> dict[str, str]:
    """Assign whole groups of corpus ids to ``train``, ``valid`` and ``test``, about 80/10/10 of the chorales.

    Groups are taken in the order of the SHA-256 of their first id, and each goes to the split furthest
    below its share (:data:`SPLIT_SHARES`) of the chorales placed so far, itself included: deterministic,
    and close to the shares however large the groups.

    >>> split = split_groups([[f"c{i}"] for i in range(20)])
    >>> [list(split.values()).count(name) for name in SPLITS]
    [16, 2, 2]
    """
    order = sorted(groups, key=lambda group: hashlib.sha256(min(group).encode()).hexdigest())
    counts = dict.fromkeys(SPLIT_SHARES, 0)
    split = {}
    for group in order:
        placed = sum(counts.values()) + len(group)
        chosen = max(SPLIT_SHARES, key=lambda name: SPLIT_SHARES[name] * placed - counts[name])
        counts[chosen] += len(group)
        split.update(dict.fromkeys(group, chosen))
    return split


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
    groups, evidence = shared_tunes([encoding.encode(piece) for _, piece in kept])
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


def _read_manifest(folder: Path) -> dict:
    path = folder / MANIFEST_NAME
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise MusegenError(f"the manifest is not valid JSON ({error}); fix or delete it", path) from None


def _record_in_manifest(folder: Path, filename: str, entry: dict) -> None:
    """Set one file's entry in ``folder``'s manifest, keeping the others; written atomically."""
    manifest = _read_manifest(folder)
    manifest[filename] = entry
    text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    encoding._write_atomically(folder / MANIFEST_NAME, text.encode())


def build(folder: str | os.PathLike | None = None, processes: int = 2, progress: bool = True) -> Path:
    """Parse the corpus and (re)write the chorale cache and its manifest entry, atomically.

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
    encoding._write_atomically(cache, data)
    _record_in_manifest(
        folder,
        CACHE_NAME,
        {
            "sha256": hashlib.sha256(data).hexdigest(),
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
    """Check the cache against its manifest; raise :class:`MusegenError` saying what is wrong."""
    folder = Path(folder) if folder is not None else data_dir()
    cache = folder / CACHE_NAME
    entry = _read_manifest(folder).get(CACHE_NAME)
    if entry is None:
        raise MusegenError(f"no manifest entry for the cache; run `{BUILD_COMMAND}`", folder / MANIFEST_NAME)
    if not cache.exists():
        raise MusegenError(f"the chorale cache is missing; run `{BUILD_COMMAND}`", cache)
    digest = hashlib.sha256(cache.read_bytes()).hexdigest()
    if digest != entry["sha256"]:
        raise MusegenError(
            f"the chorale cache is corrupt (SHA-256 {digest[:12]}… is not the manifest's "
            f"{entry['sha256'][:12]}…); run `{BUILD_COMMAND}`",
            cache,
        )
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

    >>> len(chorale_ids("train")) + len(chorale_ids("valid")) + len(chorale_ids("test")) == len(chorale_ids("all"))
    True
    """
    return _table()["ids"][_indices(split)].tolist()


def time_signatures(split: str = "train") -> list[str]:
    """The meter of each chorale of a split, aligned with :func:`chorale_ids`."""
    return _table()["time_signatures"][_indices(split)].tolist()


def tune_groups(split: str = "all") -> list[list[str]]:
    """The chorales of a split grouped by the tune of their soprano (see :func:`shared_tunes`), each group
    a sorted list of corpus ids; a tune harmonised once is a group of one.

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


def load_pieces(split: str = "train") -> list[Piece]:
    """The chorales of a split as :class:`~musegen_widgets.encoding.Piece` (four voices, SATB)."""
    pieces = _all_pieces(data_dir().resolve())
    return [pieces[i] for i in _indices(split)]


def load_melodies(split: str = "train") -> list[np.ndarray]:
    """Soprano melody tokens, one 1-D ``int64`` array per chorale (see :func:`encoding.encode`).

    >>> melody = load_melodies("test")[0]
    >>> melody.ndim, bool(melody.max() < encoding.VOCAB_SIZE)
    (1, True)
    """
    return [encoding.encode(piece) for piece in load_pieces(split)]


def load_pianorolls(split: str = "train") -> list[np.ndarray]:
    """Four-voice piano rolls, one boolean ``(4, steps, pitch)`` array per chorale (SATB order)."""
    return [encoding.encode_pianoroll(piece) for piece in load_pieces(split)]


def load_frames(split: str = "train") -> list[np.ndarray]:
    """JSB-style frames, one boolean ``(quarters, 88)`` array per chorale (see :func:`encoding.encode_frames`)."""
    return [encoding.encode_frames(piece) for piece in load_pieces(split)]


# ------------------------------------------------------------------------------ augmenting, batching


def transpose_melody(tokens: np.ndarray, semitones: int) -> np.ndarray:
    """Melody tokens moved by ``semitones``; ``HOLD`` and ``REST`` stay.

    Raises :class:`MusegenError` if a note would leave the melody range.

    >>> from musegen_widgets.encoding import pitch_to_token, HOLD
    >>> transpose_melody(np.array([pitch_to_token(60), HOLD]), 2).tolist() == [pitch_to_token(62), HOLD]
    True
    """
    tokens = np.asarray(tokens)
    is_note = tokens >= 2
    moved = tokens + np.where(is_note, semitones, 0)
    if is_note.any() and (moved[is_note].min() < 2 or moved[is_note].max() >= encoding.VOCAB_SIZE):
        raise MusegenError(f"transposing by {semitones} takes the melody outside {MIN_PITCH}-{MAX_PITCH}")
    return moved


def transpositions(tokens: np.ndarray, shifts: Iterable[int] = range(-6, 6)) -> list[np.ndarray]:
    """Every transposition of a melody by ``shifts`` (default: all 12 keys) that stays in range.

    >>> len(transpositions(load_melodies("test")[0]))
    12
    """
    tokens = np.asarray(tokens)
    notes = tokens[tokens >= 2]
    low, high = (notes.min(), notes.max()) if len(notes) else (2, 2)
    return [
        tokens + np.where(tokens >= 2, s, 0)
        for s in shifts
        if low + s >= 2 and high + s < encoding.VOCAB_SIZE
    ]


def frame_transpositions(frames: np.ndarray, shifts: Iterable[int] = range(-6, 6)) -> list[np.ndarray]:
    """Every transposition of JSB-style frames by ``shifts`` (default: all 12 keys) that stays on the keyboard.

    >>> frames = load_frames("test")[0]
    >>> moved = frame_transpositions(frames, [2])[0]
    >>> bool((np.flatnonzero(moved[0]) == np.flatnonzero(frames[0]) + 2).all())
    True
    """
    frames = np.asarray(frames, dtype=bool)
    sounding = np.flatnonzero(frames.any(axis=0))
    low, high = (sounding.min(), sounding.max()) if len(sounding) else (0, 0)
    return [np.roll(frames, s, axis=1) for s in shifts if low + s >= 0 and high + s < frames.shape[1]]


def windows(sequences: Sequence[np.ndarray], length: int, hop: int | None = None) -> np.ndarray:
    """Cut sequences into fixed windows for training: an array ``(n_windows, length, ...)``.

    Windows start every ``hop`` steps (default ``length``: no overlap) and never cross from one sequence to
    the next; a sequence shorter than ``length`` gives none.

    >>> windows([np.arange(10), np.arange(3)], length=4, hop=3).tolist()
    [[0, 1, 2, 3], [3, 4, 5, 6], [6, 7, 8, 9]]
    """
    if length < 1 or (hop is not None and hop < 1):
        raise MusegenError(f"window length and hop must be positive, got {length} and {hop}")
    hop = hop or length
    cut = [np.asarray(s)[i : i + length] for s in sequences for i in range(0, len(s) - length + 1, hop)]
    if not cut:
        raise MusegenError(f"no sequence is at least {length} steps long")
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
