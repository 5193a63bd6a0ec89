"""Chapter 04's registry of melody sources: every entry gives melodies of the same length, repeatably."""

from musegen_widgets import generators
from musegen_widgets.errors import MusegenError

import numpy as np
import pytest


@pytest.mark.parametrize("name", sorted(generators.GENERATORS))
def test_every_source_gives_repeatable_eight_bar_melodies_with_notes(name):
    melodies = generators.GENERATORS[name](3, seed=5)
    assert len(melodies) == 3
    for melody in melodies:
        assert melody.shape == (generators.STEPS,) and (melody >= 2).sum() >= 2
    again = generators.GENERATORS[name](3, seed=5)
    assert all(np.array_equal(a, b) for a, b in zip(melodies, again))


def test_draw_skips_silence_and_gives_up_clearly():
    silent, tune = np.ones(8, int), np.array([20, 0, 21, 0])
    assert len(generators.draw(lambda s: tune if s % 2 else silent, 3, seed=0)) == 3
    with pytest.raises(MusegenError, match="only 0 of 6 samples"):
        generators.draw(lambda s: silent, 2, seed=0)


@pytest.mark.parametrize("name", sorted(generators.ROLL_GENERATORS))
def test_every_four_voice_source_gives_repeatable_two_bar_rolls(name):
    rolls = generators.ROLL_GENERATORS[name](4, seed=2)
    assert rolls.shape == (4, 4, 16 * generators.ROLL_BARS, 72) and rolls.dtype == bool
    assert rolls.any(axis=(1, 2, 3)).all()
    assert np.array_equal(rolls, generators.ROLL_GENERATORS[name](4, seed=2))


def test_the_gan_soprano_is_the_top_voice_of_four_gan_passages_in_a_row():
    from musegen_widgets import encoding, models

    gan = models.load_pretrained("chorale_gan")
    below_c3 = encoding.MIN_PITCH - encoding.PIANOROLL_LOW  # roll columns under the melody vocabulary

    def passages(seed):  # one shared latent (the first passage's), new private latents each passage
        shared = np.random.default_rng(seed).standard_normal(gan.shared_latent)
        return gan.generate(4, seed=seed, shared_z=shared)

    seed = next(s for s in range(50) if (np.nonzero(passages(s)[:, 0])[2] < below_c3).any())
    melody = generators.GENERATORS["GAN soprano (chapter 03)"](1, seed=seed)[0]
    rolls = passages(seed)
    assert np.array_equal(rolls[0], gan.generate(4, seed=seed)[0])
    assert not np.array_equal(rolls[1], gan.generate(4, seed=seed)[1])

    def pitches_in_time_order(notes):
        return [int(pitch) for pitch in notes[np.argsort(notes[:, 1], kind="stable"), 0]]

    sopranos = [encoding.decode_pianoroll(roll, time_signature="4/4").voices[0] for roll in rolls]
    expected = [p for notes in sopranos for p in pitches_in_time_order(notes) if p >= encoding.MIN_PITCH]
    assert len(expected) < sum(len(notes) for notes in sopranos)  # this seed has a note below C3, left out
    assert pitches_in_time_order(encoding.to_piece(melody).voices[0]) == expected


def test_the_earlier_harmonisations_are_the_stored_ones_under_bachs_sopranos(tmp_path, monkeypatch):
    from musegen_widgets import data, files

    earlier = generators.earlier_harmonisations()
    held_out = [p for split in ("valid", "test") for p in data.load_pieces(split, meter="4/4")]
    assert sorted(earlier) == [0, 1, 2] and all(len(pieces) == len(held_out) for pieces in earlier.values())
    for written, bach in zip(earlier[1], held_out):
        assert written.title == bach.title and len(written.voices) == 4
        # the soprano sounds where Bach's does, in its first 8 bars (that model merged repeated notes)
        assert set(written.voices[0][:, 0]) == set(bach.first_bars(8).voices[0][:, 0])
    # a damaged copy is refused, naming the file
    (tmp_path / generators.EARLIER_HARMONISATIONS).write_bytes(b"not the stored file")
    (tmp_path / "MANIFEST.json").write_text(
        (files.data_dir() / "MANIFEST.json").read_text(), encoding="utf-8"
    )
    monkeypatch.setattr(files, "data_dir", lambda: tmp_path)
    with pytest.raises(MusegenError, match="earlier harmonisations is corrupt"):
        generators.earlier_harmonisations()


def test_the_stored_harmonisations_are_what_the_shipped_model_writes():
    from musegen_widgets import data, models

    stored = generators._stored_harmonisations()
    assert stored is not None, "data/harmonised_held_out.npz is missing or not the shipped model's"
    held_out = [p for split in ("valid", "test") for p in data.load_pieces(split, meter="4/4")]
    assert len(stored[0]) == len(stored[1]) == len(held_out)
    model = models.load_pretrained("chorale_infill")
    for seed in (0, 7):  # two chorales computed afresh, as the function would without the file
        draft, kept = generators.harmonise_held_out_chorale(model, held_out[seed], seed)
        assert stored[0][seed] == draft and stored[1][seed] == kept
    assert generators.harmonised_held_out_chorales() == stored[1]


def test_stored_harmonisations_of_other_weights_or_damaged_are_not_used(tmp_path, monkeypatch):
    from musegen_widgets import files

    source = files.data_dir()
    for name in ("MANIFEST.json", generators.HARMONISED_HELD_OUT, "chorale_infill.weights.h5"):
        (tmp_path / name).write_bytes((source / name).read_bytes())
    monkeypatch.setattr(files, "data_dir", lambda: tmp_path)
    assert generators._stored_harmonisations() is not None
    (tmp_path / generators.HARMONISED_HELD_OUT).write_bytes(b"damaged")
    with pytest.warns(UserWarning, match="harmonised_held_out.npz: not the file the manifest records"):
        assert generators._stored_harmonisations() is None
    (tmp_path / generators.HARMONISED_HELD_OUT).write_bytes(
        (source / generators.HARMONISED_HELD_OUT).read_bytes()
    )
    (tmp_path / "chorale_infill.weights.h5").write_bytes(b"other weights")
    assert generators._stored_harmonisations() is None
