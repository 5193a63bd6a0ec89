"""Every melody source of the course behind one call, so that chapter 04 can judge them side by side.

:data:`GENERATORS` maps a display name to a function ``(n, seed) -> list of melody token arrays`` of
:data:`BARS` bars each: real chorales (held out and training), chapter 01's n-gram yardstick, the melody models of
chapter 01, the VAE of chapter 02, the soprano of chapter 03's GAN, chapter 05's melody Transformer and
chapter 08's latent diffusion model. Chapter 04
loops over this dict, so a new model joins every table, figure and listening test of that chapter by adding one
entry here and nothing else. :data:`ROLL_GENERATORS` does the same for two-bar four-voice passages: real
chorales, chapter 03's GAN, chapter 06's harmonisations of the held-out sopranos and chapter 08's diffusion model.

>>> sorted(GENERATORS)[:2]
['Bach, held out (valid and test splits)', 'Bach, training split']
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from .encoding import is_note
from .errors import MusegenError

__all__ = [
    "BARS",
    "STEPS",
    "GENERATORS",
    "yardstick",
    "excerpts",
    "draw",
    "ROLL_BARS",
    "ROLL_GENERATORS",
    "harmonised_held_out_chorales",
    "harmonised_passages",
    "satb_transformer_passages",
    "EARLIER_HARMONISATIONS",
    "earlier_harmonisations",
    "HARMONISED_HELD_OUT",
    "harmonise_held_out_chorale",
    "store_harmonised_held_out_chorales",
]

BARS = 8
"""Length of every compared melody, in 4/4 bars."""

STEPS = 16 * BARS

ROLL_BARS = 2
"""Length of every compared four-voice passage, in 4/4 bars (what chapter 03's GAN writes)."""


def excerpts(*splits: str) -> list[np.ndarray]:
    """Non-overlapping :data:`BARS`-bar excerpts, from the first bar on, of the splits' 4/4 chorales.

    Taught in chapter 04, section 3 (samples from every source).
    """
    from . import data

    cut = [
        excerpt
        for split in splits
        for excerpt in data.excerpts(data.load_melodies(split, meter="4/4"), steps=STEPS)
    ]
    return [melody for melody in cut if is_note(melody).sum() >= 2]


def _real(*splits: str) -> Callable[[int, int], list[np.ndarray]]:
    def generate(n: int, seed: int) -> list[np.ndarray]:
        pool = excerpts(*splits)
        chosen = np.random.default_rng(seed).permutation(len(pool))[:n]
        return [pool[i] for i in sorted(chosen)]

    return generate


def _sequence_model(load: Callable) -> Callable[[int, int], list[np.ndarray]]:
    """Samples from silence (one ``REST``) at temperature 1; samples with fewer than two notes are redrawn."""

    def generate(n: int, seed: int) -> list[np.ndarray]:
        from . import sampling

        model = load()
        return draw(lambda s: sampling.sample(model, steps=STEPS, seed=s), n, seed)

    return generate


@functools.lru_cache(maxsize=1)
def yardstick():
    """Chapter 01's n-gram yardstick on the course's split (:func:`~musegen_widgets.ngram.fit_yardstick`),
    fitted once per session."""
    from . import data
    from .ngram import fit_yardstick

    return fit_yardstick(data.load_melodies("train"), data.load_melodies("valid"))


def _pretrained(name: str) -> Callable:
    def load():
        from . import models

        return models.load_pretrained(name)

    return load


def _vae_prior(n: int, seed: int) -> list[np.ndarray]:
    """Four two-bar prior samples (temperature 0.5), one after another: the VAE knows no longer form."""
    from . import models

    vae = models.load_pretrained("melody_vae")
    segments_per_melody = BARS // 2

    def one(s: int) -> np.ndarray:
        return np.concatenate(vae.sample_prior(segments_per_melody, temperature=0.5, seed=s))

    return draw(one, n, seed)


def _gan_soprano(n: int, seed: int) -> list[np.ndarray]:
    """The soprano of four GAN passages in a row (default notes: smoothed), which share one shared latent and
    draw new private ones: like the VAE, the GAN writes two bars at a time, and the shared latent (what a
    passage is: its key, harmony and motion) plays the part of MuseGAN's time-independent latent, while the
    private ones change from passage to passage. Soprano notes below the melody vocabulary (C3; far below any
    real soprano) are left out, which leaves rests."""
    from . import encoding, models

    gan = models.load_pretrained("chorale_gan")
    passages_per_melody = BARS // ROLL_BARS
    lowest = encoding.MIN_PITCH - encoding.PIANOROLL_LOW  # the roll column of C3

    def one(s: int) -> np.ndarray:
        shared = np.random.default_rng(s).standard_normal(gan.shared_latent)  # the first passage's own
        sopranos = gan.generate(passages_per_melody, seed=s, shared_z=shared)[:, :1].copy()
        sopranos[..., :lowest] = False
        return np.concatenate(
            [
                encoding.encode_melody(encoding.decode_pianoroll(roll, time_signature="4/4"))
                for roll in sopranos
            ]
        )

    return draw(one, n, seed)


def _latent_diffusion(n: int, seed: int) -> list[np.ndarray]:
    """Chapter 08's latent diffusion model: codes by 50 DDIM steps, decoded greedily by the VAE; melodies with
    fewer than two notes are replaced by more from the next seed."""
    from . import models

    model, vae = models.load_pretrained("melody_diffusion"), models.load_pretrained("melody_vae")
    melodies: list[np.ndarray] = []
    for s in range(seed, seed + 3):
        melodies += [m for m in model.generate(vae, n, steps=50, seed=s) if is_note(m).sum() >= 2]
        if len(melodies) >= n:
            return melodies[:n]
    raise MusegenError(f"only {len(melodies)} of {3 * n} samples had two notes or more; {n} were asked for")


def draw(sample: Callable[[int], np.ndarray], n: int, seed: int) -> list[np.ndarray]:
    """``n`` samples ``sample(seed), sample(seed + 1), ...``, skipping those with fewer than two notes.

    Taught in chapter 04, section 3 (samples from every source).

    Raises :class:`MusegenError` if fewer than ``n`` of ``3 n`` tries have notes.
    """
    melodies = []
    for s in range(seed, seed + 3 * n):
        melody = np.asarray(sample(s))
        if is_note(melody).sum() >= 2:
            melodies.append(melody)
            if len(melodies) == n:
                return melodies
    raise MusegenError(f"only {len(melodies)} of {3 * n} samples had two notes or more; {n} were asked for")


GENERATORS: dict[str, Callable[[int, int], list[np.ndarray]]] = {
    "Bach, held out (valid and test splits)": _real("valid", "test"),
    "Bach, training split": _real("train"),
    "n-gram (chapter 01's best on valid)": _sequence_model(yardstick),
    "LSTM (chapter 01)": _sequence_model(_pretrained("melody_lstm")),
    "dilated convolutions (chapter 01)": _sequence_model(_pretrained("melody_tcn")),
    "Transformer (chapter 05)": _sequence_model(_pretrained("melody_transformer")),
    "VAE prior (chapter 02)": _vae_prior,
    "GAN soprano (chapter 03)": _gan_soprano,
    "latent diffusion (chapter 08)": _latent_diffusion,
}
"""Display name -> ``generate(n, seed)``: ``n`` melodies of :data:`BARS` bars (the real sets may have fewer)."""


def _real_rolls(*splits: str) -> Callable[[int, int], np.ndarray]:
    def generate(n: int, seed: int) -> np.ndarray:
        from .models.chorale_gan import roll_excerpts

        pool = roll_excerpts(*splits)
        return pool[np.sort(np.random.default_rng(seed).permutation(len(pool))[:n])]

    return generate


def _gan(n: int, seed: int) -> np.ndarray:
    """Passages of the chorale GAN (its default notes: smoothed)."""
    from . import models

    return models.load_pretrained("chorale_gan").generate(n, seed=seed)


def _diffusion(n: int, seed: int) -> np.ndarray:
    """Passages of chapter 08's four-voice diffusion model (50 DDIM steps)."""
    from . import models

    return models.load_pretrained("chorale_diffusion").generate(n, steps=50, seed=seed)


def satb_transformer_passages(n: int, seed: int) -> np.ndarray:
    """Two-bar piano rolls ``(n, 4, 32, 72)`` written by chapter 05's four-voice Transformer at temperature
    1, each from one step of silence (dropped).

    Taught in chapter 06, section 6 (judging harmonisations).
    """
    from . import encoding, models, sampling

    model = models.load_pretrained("chorale_transformer")
    steps = 16 * ROLL_BARS
    return np.stack(
        [
            encoding.encode_pianoroll(
                encoding.decode_satb(sampling.sample_satb(model, steps=steps + 1, seed=s)[4:])
            )
            for s in range(seed, seed + n)
        ]
    )


HARMONISED_HELD_OUT = "harmonised_held_out.npz"
"""The stored :func:`harmonised_held_out_chorales`, with the SHA-256 of the weights that wrote them."""


@functools.lru_cache(maxsize=2)
def harmonised_held_out_chorales(*, avoid_parallels: bool = True) -> tuple:
    """The held-out (validation and test) 4/4 chorales with alto, tenor and bass rewritten under their own
    soprano by chapter 06's infilling model: the same chorales as the held-out passages of
    :data:`ROLL_GENERATORS`. Chorale ``i`` is harmonised with seed ``i``, so that the chorales do not share
    their random numbers (one seed for all gives every chorale the same masks and draws).

    Taught in chapter 06, section 6 (judging harmonisations). With ``avoid_parallels`` (the default of
    :func:`~musegen_widgets.infilling.harmonise`), each is the network's draft (``avoid_parallels=False``)
    with :func:`~musegen_widgets.infilling.remove_parallels` applied: the two differ only in the notes the
    rule redrew (:func:`harmonise_held_out_chorale` writes one chorale both ways).

    They take about a minute to compute, and chapters 04 and 06 and the tests all use them, so they are
    stored (:data:`HARMONISED_HELD_OUT`, written by :func:`store_harmonised_held_out_chorales`) and read back
    while the shipped ``chorale_infill`` weights are the ones that wrote them; otherwise (new weights, or a
    damaged file, with a warning) they are computed again, once per session.
    """
    stored = _stored_harmonisations()
    if stored is not None:
        return stored[int(avoid_parallels)]
    return _harmonise_held_out()[int(avoid_parallels)]


def _held_out_pieces() -> list:
    from . import data

    return [piece for split in ("valid", "test") for piece in data.load_pieces(split, meter="4/4")]


def harmonise_held_out_chorale(model, piece, seed: int) -> tuple:
    """One chorale as :func:`harmonised_held_out_chorales` writes it: ``(draft, draft with the rule)``.

    Taught in chapter 06, section 6 (judging harmonisations).
    """
    from .infill_cells import decode, encode
    from .infilling import DEFAULT_TEMPERATURE, harmonise, remove_parallels

    draft = harmonise(piece, model=model, seed=seed, avoid_parallels=False)
    cells = encode(draft)
    lower_voices = np.broadcast_to(np.arange(4) > 0, cells.shape)  # alto, tenor and bass written
    kept = remove_parallels(model, cells, lower_voices, temperature=DEFAULT_TEMPERATURE, seed=seed)
    return draft, decode(kept, time_signature=draft.time_signature, title=draft.title)


@functools.lru_cache(maxsize=1)
def _harmonise_held_out() -> tuple[tuple, tuple]:
    from . import models

    model = models.load_pretrained("chorale_infill")
    pairs = [harmonise_held_out_chorale(model, piece, seed) for seed, piece in enumerate(_held_out_pieces())]
    return tuple(draft for draft, _ in pairs), tuple(kept for _, kept in pairs)


def _pack(groups: dict[int, tuple]) -> dict[str, np.ndarray]:
    """Groups of equally many pieces (group -> pieces) as arrays: notes ``(group, piece, voice, pitch,
    start, end)``, and each piece's title and length (the same in every group)."""
    first = next(iter(groups.values()))
    notes = [
        [group, index, voice, *note]
        for group, pieces in groups.items()
        for index, piece in enumerate(pieces)
        for voice, voice_notes in enumerate(piece.voices)
        for note in voice_notes.tolist()
    ]
    return {
        "notes": np.array(notes, dtype=np.int32),
        "titles": np.array([piece.title for piece in first]),
        "lengths": np.array([piece.n_steps for piece in first]),
    }


def _unpack(stored) -> dict[int, tuple]:
    """The inverse of :func:`_pack`: group -> pieces."""
    from .piece import Piece

    notes, titles, lengths = stored["notes"].astype(np.int64), stored["titles"], stored["lengths"]
    pieces: dict[int, tuple] = {}
    for group in np.unique(notes[:, 0]):
        in_group = notes[notes[:, 0] == group]
        pieces[int(group)] = tuple(
            Piece(
                tuple(in_group[(in_group[:, 1] == i) & (in_group[:, 2] == v)][:, 3:] for v in range(4)),
                "4/4",
                title=str(title),
                length=int(length),
            )
            for i, (title, length) in enumerate(zip(titles, lengths))
        )
    return pieces


def _stored_harmonisations() -> dict[int, tuple] | None:
    """The stored harmonisations (0: drafts, 1: with the rule), or None where they cannot be used."""
    import warnings

    from . import files

    path = files.data_dir() / HARMONISED_HELD_OUT
    entry = files.read_manifest(path.parent).get(path.name)
    weights = path.parent / "chorale_infill.weights.h5"
    if entry is None or not path.exists() or not weights.exists():
        return None
    if entry.get("chorale_infill_sha256") != files.sha256(weights):
        return None  # other weights: the stored harmonisations are not theirs
    if files.sha256(path) != entry["sha256"]:
        warnings.warn(
            f"{path}: not the file the manifest records; computing the harmonisations again "
            "(store them anew with `python -m musegen_widgets.generators`)",
            stacklevel=3,
        )
        return None
    return _unpack(np.load(path))


def store_harmonised_held_out_chorales(folder=None):
    """Compute :func:`harmonised_held_out_chorales` and store them in ``folder`` (default ``data/``) with a
    manifest entry naming the weights that wrote them; returns the file's path.

    Taught in chapter 06, section 6 (judging harmonisations). ``python -m musegen_widgets.generators`` runs it.
    """
    import io
    from pathlib import Path

    from . import files

    folder = Path(folder) if folder is not None else files.data_dir()
    drafts, kept = _harmonise_held_out()
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **_pack({0: drafts, 1: kept}))
    path = files.write_atomically(folder / HARMONISED_HELD_OUT, buffer.getvalue())
    files.record_in_manifest(
        path,
        {
            "built_by": "python -m musegen_widgets.generators",
            "chorale_infill_sha256": files.sha256(files.data_dir() / "chorale_infill.weights.h5"),
            "what": "the held-out 4/4 chorales harmonised under their own sopranos, seed i for chorale i: "
            "group 0 the network's drafts, group 1 with remove_parallels",
        },
    )
    return path


EARLIER_HARMONISATIONS = "harmonised_v0.2.0.npz"
"""The stored harmonisations of the infilling model before it had hold cells (:func:`earlier_harmonisations`)."""


def earlier_harmonisations() -> dict[int, tuple]:
    """The first eight bars of every held-out (validation and test) 4/4 chorale, alto, tenor and bass written
    under Bach's soprano by the infilling model of musegen 0.2.0, with seeds 0, 1 and 2: seed -> pieces.

    Taught in chapter 06, section 6 (the lower voices' rhythm). That model's cells held a pitch at every 16th
    step, with no hold (chapter 05's S-A-T-B tokens); its harmonisations were stored before it was replaced
    (:data:`EARLIER_HARMONISATIONS`, checked against the manifest), because the package no longer ships it.
    The pieces are in the order of ``data.load_pieces("valid", meter="4/4") + data.load_pieces("test",
    meter="4/4")``.

    Raises
    ------
    MusegenError
        If the file is missing or is not the one the manifest records.
    """
    from . import files

    path = files.data_dir() / EARLIER_HARMONISATIONS
    files.checked_entry(path, "the earlier harmonisations", "restore it from the course's repository")
    return _unpack(np.load(path))


def harmonised_passages(n: int, seed: int) -> np.ndarray:
    """Two-bar piano rolls ``(n, 4, 32, 72)`` of :func:`harmonised_held_out_chorales`, cut like the held-out
    real ones (all of them for an ``n`` larger than there are).

    Taught in chapter 06, section 6 (judging harmonisations).
    """
    from . import data, encoding

    rolls = [encoding.encode_pianoroll(piece) for piece in harmonised_held_out_chorales()]
    pool = data.excerpts(rolls, steps=16 * ROLL_BARS)
    return pool[np.sort(np.random.default_rng(seed).permutation(len(pool))[:n])]


ROLL_GENERATORS: dict[str, Callable[[int, int], np.ndarray]] = {
    "Bach, held out (valid and test splits)": _real_rolls("valid", "test"),
    "Bach, training split": _real_rolls("train"),
    "GAN (chapter 03)": _gan,
    "held-out sopranos harmonised (chapter 06)": harmonised_passages,
    "diffusion (chapter 08)": _diffusion,
}
"""Display name -> ``generate(n, seed)``: four-voice piano rolls ``(n, 4, 32, 72)`` (chapter 04, sections 7
and 8). The harmonisations keep Bach's soprano and write the other three voices, under the sopranos of the
held-out passages: as many passages as those, so a larger ``n`` gives all of them."""


if __name__ == "__main__":
    print(store_harmonised_held_out_chorales(), "written")
