import re
import subprocess
import sys
import time

from musegen_widgets import audio, data, encoding, music21_io
from musegen_widgets.encoding import HOLD, MAX_PITCH, MIN_PITCH, REST, Piece
from musegen_widgets.errors import MusegenError

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from samples import GOOD_TOKENS, midi_file, midi_notes, oversized_music


@st.composite
def melody_tokens(draw, max_events=12):
    """Canonical melody tokens: a silence is one REST then HOLDs; the first token is never HOLD."""
    tokens, silent = [], False
    for _ in range(draw(st.integers(1, max_events))):
        length = draw(st.integers(1, 20))
        pitch = draw(st.one_of(st.none(), st.integers(MIN_PITCH, MAX_PITCH)))
        if pitch is None:
            if silent:
                tokens += [HOLD] * length
            else:
                tokens += [REST] + [HOLD] * (length - 1)
            silent = True
        else:
            tokens += [encoding.pitch_to_token(pitch)] + [HOLD] * (length - 1)
            silent = False
    if all(t == REST or t == HOLD for t in tokens):
        tokens += [encoding.pitch_to_token(60)]
    return np.array(tokens)


@given(melody_tokens())
def test_tokens_to_piece_and_back_is_exact(tokens):
    assert np.array_equal(encoding.encode_melody(encoding.to_piece(tokens)), tokens)


@settings(max_examples=25, deadline=None)
@given(melody_tokens(max_events=8), st.sampled_from(["4/4", "3/4", "3/2"]))
def test_tokens_through_music21_stream_are_exact(tokens, meter):
    score = music21_io.to_stream(encoding.decode_melody(tokens, time_signature=meter))
    assert np.array_equal(encoding.encode_melody(score), tokens)


def _trim_trailing_silence(tokens):
    last_note = np.flatnonzero(tokens >= 2)[-1]
    end = last_note + 1
    while end < len(tokens) and tokens[end] == HOLD:
        end += 1
    return tokens[:end]


@settings(max_examples=15, deadline=None)
@given(melody_tokens(max_events=8))
def test_tokens_through_midi_and_musicxml_files_are_exact(tmp_path_factory, tokens):
    # Only the silence after the last note may differ: music21 reads files with the last bar filled up.
    folder = tmp_path_factory.mktemp("files")
    expected = _trim_trailing_silence(tokens)
    midi = encoding.encode_melody(music21_io.write_midi(tokens, folder / "m.mid"))
    assert np.array_equal(_trim_trailing_silence(midi), expected)
    musicxml = encoding.encode_melody(music21_io.write_musicxml(tokens, folder / "m.musicxml"))
    assert np.array_equal(_trim_trailing_silence(musicxml), expected)


def test_pickup_is_padded_to_a_downbeat():
    import music21

    melody = music21.stream.Stream()
    part = music21.stream.Part()
    m0 = music21.stream.Measure(number=0)
    m0.append(music21.meter.TimeSignature("3/4"))
    m0.append(music21.note.Note("G4", quarterLength=1))
    m0.paddingLeft = 2.0
    m1 = music21.stream.Measure(number=1)
    m1.append(music21.note.Note("C5", quarterLength=3))
    part.append([m0, m1])
    melody.insert(0, part)
    tokens = encoding.encode_melody(melody)
    assert tokens[:8].tolist() == [REST] + [HOLD] * 7  # two quarters of padding on a 16th grid
    assert encoding.token_name(tokens[8]) == "G4" and encoding.token_name(tokens[12]) == "C5"


def test_skyline_keeps_the_highest_note_of_chords():
    piece = Piece(([[60, 0, 4], [64, 0, 4], [67, 0, 2]],))
    assert encoding.encode_melody(piece).tolist() == [
        encoding.pitch_to_token(67),
        HOLD,
        encoding.pitch_to_token(64),
        HOLD,
    ]


def test_vocabulary_constants_agree():
    assert encoding.VOCAB_SIZE == 2 + MAX_PITCH - MIN_PITCH + 1
    assert encoding.token_to_pitch(encoding.pitch_to_token(MIN_PITCH)) == MIN_PITCH
    assert encoding.token_to_pitch(encoding.VOCAB_SIZE - 1) == MAX_PITCH
    assert [encoding.token_name(t) for t in (HOLD, REST, encoding.pitch_to_token(69))] == [
        "HOLD",
        "REST",
        "A4",
    ]


def test_equal_temperament_formula():
    assert encoding.midi_to_hz(69) == 440.0
    assert encoding.midi_to_hz(81) == pytest.approx(880.0)
    ratios = encoding.midi_to_hz(np.arange(60, 72) + 1) / encoding.midi_to_hz(np.arange(60, 72))
    assert np.allclose(ratios, 2 ** (1 / 12))


@given(st.integers(1, 4), st.integers(1, 40), st.integers(0, 2**32 - 1))
def test_pianoroll_round_trip(n_voices, n_steps, seed):
    width = encoding.PIANOROLL_HIGH - encoding.PIANOROLL_LOW + 1
    roll = np.random.default_rng(seed).random((n_voices, n_steps, width)) < 0.05
    assert np.array_equal(encoding.encode_pianoroll(encoding.decode_pianoroll(roll)), roll)


@given(st.integers(1, 12), st.integers(0, 2**32 - 1))
def test_frames_round_trip(n_quarters, seed):
    rng = np.random.default_rng(seed)
    frames = np.zeros((n_quarters, 88), dtype=bool)
    for frame in frames:
        frame[rng.choice(88, size=rng.integers(0, 5), replace=False)] = True
    frames[0, 40] = frames[-1, 41] = True
    assert np.array_equal(encoding.encode_frames(encoding.decode_frames(frames)), frames)


def test_frames_sample_each_quarter():
    piece = Piece(([[72, 0, 2], [74, 2, 8]], [[48, 4, 8]]))
    frames = encoding.encode_frames(piece)
    sounding = [sorted((np.flatnonzero(f) + encoding.FRAME_LOW).tolist()) for f in frames]
    assert sounding == [[72], [48, 74]]


def test_stream_and_piece_agree_on_a_chorale():
    import music21

    score = music21.corpus.parse("bach/bwv269")
    piece = encoding.to_piece(score)
    assert len(piece.voices) == 4 and piece.time_signature == "3/4"
    back = encoding.to_piece(music21_io.to_stream(piece))
    assert back == piece


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (np.array([0, 1, 99]), "outside the vocabulary"),
        (np.array([], dtype=int), "no tokens"),
        (np.array([1.5, 2.0]), "integer"),
        (np.zeros(encoding.MAX_STEPS + 1, dtype=int), "longer than"),
        (np.zeros((3, 5), int), r"a batch of 3 melodies .*pick one with \[0\]"),
        (np.zeros((2, 4, 32, 72), bool), r"a batch of 2 piano rolls .*pick one with \[0\]"),
        (np.zeros((2, 2, 2, 2, 2)), "neither melody tokens"),
        ({"not": "music"}, "cannot make music"),
    ],
)
def test_bad_arrays_raise_project_errors(bad, message):
    with pytest.raises(MusegenError, match=message):
        encoding.to_piece(bad)


def test_a_batch_of_one_is_the_piece_in_it():
    melody = np.array([[encoding.pitch_to_token(60), HOLD, REST, HOLD]])
    assert encoding.to_piece(melody) == encoding.to_piece(melody[0])
    roll = np.zeros((1, 4, 16, 72), bool)
    roll[0, 0, :8, 40] = True
    assert encoding.to_piece(roll) == encoding.decode_pianoroll(roll[0])


def test_out_of_range_pitch_says_to_transpose():
    with pytest.raises(MusegenError, match="transpose"):
        encoding.encode_melody(Piece(([[30, 0, 4]],)))
    with pytest.raises(MusegenError, match="transpose"):
        encoding.pitch_to_token(MAX_PITCH + 1)


def test_bad_pieces_raise():
    with pytest.raises(MusegenError, match="ends before it starts"):
        Piece(([[60, 4, 4]],))
    with pytest.raises(MusegenError, match="longer than"):
        Piece(([[60, 0, encoding.MAX_STEPS + 1]],))
    with pytest.raises(MusegenError, match="time signature"):
        Piece(([[60, 0, 4]],), "four/four")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("empty.mid", "empty"),
        ("truncated.mid", "cannot be read as MIDI"),
        ("not_midi.mid", "not a MIDI file"),
        ("malformed.musicxml", "cannot be read as MusicXML"),
        ("no_notes.musicxml", "no notes"),
        ("picture.png", "only MIDI"),
        ("absurd.mid", "longer than"),
    ],
)
def test_bad_files_name_the_file_and_the_problem(bad_files, name, message):
    path = bad_files[name]
    with pytest.raises(MusegenError, match=message) as raised:
        music21_io.read(path)
    assert str(path) in str(raised.value)


@pytest.fixture
def oversized(tmp_path):
    return oversized_music(tmp_path)


@pytest.fixture
def music21_must_not_parse(monkeypatch):
    """Make music21's readers fail the test: the files below are refused before they would run."""
    import music21

    def forbidden(*args, **kwargs):
        raise AssertionError("music21 was asked to read a file the course should have refused first")

    monkeypatch.setattr(music21.midi.translate, "midiStringToStream", forbidden)
    monkeypatch.setattr(music21.converter, "parseData", forbidden)


@pytest.mark.parametrize(
    "name",
    [
        "delta_time_of_hours.mid",
        "thousands_of_tracks.mid",
        "too_many_notes.mid",
        "smpte_time.mid",
        "huge.mid",
        "too_many_notes.musicxml",
        "a_folder.mid",
        "loop_a.mid",
        "pipe.mid",
        "zero.mid",
    ],
)
def test_files_too_long_too_full_or_not_files_are_refused_before_music21_reads_them(
    oversized, music21_must_not_parse, name
):
    path, message = oversized[name]
    with pytest.raises(MusegenError, match=re.escape(message)) as raised:
        music21_io.read(path)
    assert str(path) in str(raised.value)


def test_an_absurd_tempo_is_the_files_own_the_course_plays_at_its_own(oversized):
    path, _ = oversized["absurd_tempo.mid"]
    piece = music21_io.read(path)
    assert piece.voices[0].tolist() == [[60, 0, 4], [62, 4, 8]]
    assert len(audio.synthesize(piece)) < 3 * audio.SAMPLE_RATE  # two quarter notes at 90, and a release


def test_sound_longer_than_the_limit_is_refused_before_it_is_made():
    hours_apart = Piece(([[60, 0, 4], [62, 16000, 16004]],), title="two notes")
    with pytest.raises(MusegenError, match="two notes would sound for 44.5 minutes .* longer than the 10"):
        audio.synthesize(hours_apart)
    steps = int(audio.MAX_SECONDS * 90 / 60 * encoding.STEPS_PER_QUARTER)  # exactly the limit, at 90
    assert len(audio.synthesize(Piece(([[60, steps - 4, steps]],)), tempo=90)) >= audio.MAX_SECONDS * 22050


def test_a_file_that_grows_while_it_is_read_is_read_as_it_was_or_refused(tmp_path):
    path = tmp_path / "growing.mid"
    path.write_bytes(midi_file([midi_notes([60, 62, 64])]))
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys\nwith open(sys.argv[1], 'ab') as f:\n    while True:\n        f.write(bytes(65536)); f.flush()",
            str(path),
        ]
    )
    try:
        while path.stat().st_size < 1_000_000:  # well under way
            time.sleep(0.01)
        try:
            piece = music21_io.read(path)
        except MusegenError as error:
            assert str(path) in str(error) and "larger than" in str(error)
        else:
            assert piece.voices[0][:, 0].tolist() == [60, 62, 64]  # the trailing zeros are no track
    finally:
        writer.kill()
        writer.wait()


def test_missing_file(tmp_path):
    with pytest.raises(MusegenError, match="no such file"):
        music21_io.read(tmp_path / "nowhere.mid")


def test_good_midi_file_reads(good_midi):
    assert np.array_equal(encoding.encode_melody(good_midi), GOOD_TOKENS)
    assert music21_io.read(good_midi).title == "good"


def test_writes_are_atomic(tmp_path, monkeypatch):
    target = tmp_path / "keep.mid"
    target.write_bytes(b"old")

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(encoding.os, "replace", broken)
    with pytest.raises(RuntimeError):
        music21_io.write_midi(GOOD_TOKENS, target)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.mid"]


def test_frames_decoded_from_their_start_keep_a_pickup_on_its_beat():
    chorale = data.load_pieces("test")[0]
    first = min(int(notes[:, 1].min()) for notes in chorale.voices)
    assert first % encoding.STEPS_PER_QUARTER == 0 and first > 0  # a pickup of whole beats
    frames = encoding.encode_frames(chorale)
    lost = encoding.decode_frames(frames)
    kept = encoding.decode_frames(frames, start=first)
    assert min(int(notes[:, 1].min()) for notes in lost.voices) == 0  # its first beat on a downbeat
    assert min(int(notes[:, 1].min()) for notes in kept.voices) == first
    assert kept.n_steps == chorale.n_steps and np.array_equal(encoding.encode_frames(kept), frames)
    with pytest.raises(MusegenError, match="start"):
        encoding.decode_frames(frames, start=-1)
