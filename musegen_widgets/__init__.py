"""musegen_widgets: the helper package of the musegen course.

One module per concept, each taught in a chapter of the course:

``piece``
    ``Piece``: notes of a few voices on the 16th-note grid; pitch names, melodies as text (chapter 00).
``encoding``
    Music as arrays: melody tokens, piano rolls, JSB-style frames, S-A-T-B tokens, ``to_piece`` (chapter 00).
``music21_reading``
    Reading MIDI and MusicXML files through music21, checked before music21 sees them (chapter 00).
``music21_io``
    Writing MIDI and MusicXML through music21; ``read`` re-exported from ``music21_reading`` (chapter 00).
``data``
    The Bach chorales bundled with music21: cached, loaded, augmented, cut into excerpts (chapter 00).
``splits``
    ``train``, ``valid`` and ``test`` by tune, so that no hymn tune is in two splits (chapter 00).
``files``
    The data folder, its checksum manifest, atomic writes (chapter 00).
``numerics``
    ``log_softmax``, ``sigmoid``, one LSTM step, drawing tokens: shared by models and samplers (chapter 01).
``render``
    Engraved scores (verovio SVG) and piano-roll plots (chapter 00).
``audio``
    A small numpy synthesizer and WAV bytes for inline playback (chapter 00).
``widgets``
    ``ScoreView`` (chapter 00), ``SamplerWidget`` (01), ``LatentExplorer`` (02), ``GanExplorer`` (03),
    ``ListeningTest`` (04): plain ipywidgets.
``attention``
    Scaled dot-product, multi-head and relative attention in numpy, with Music Transformer's skewing (chapter 05).
``ngram``
    Kneser-Ney and Witten-Bell n-grams, the yardstick (chapter 01).
``models``
    The trained models and ``load_pretrained``: melody LSTM and dilated convolutions, frame LSTM (01),
    melody VAE (02), chorale GAN (03), Transformers (05), infilling (06); each model's file also holds
    how the chorales become its training examples and its training; ``recipes``, their sizes and epochs.
``training``
    What every training shares: schedule, the sequence models' loop with early stopping, saved weights,
    history and curves (01).
``sampling``
    Temperature, top-k and top-p sampling, one step at a time (chapter 01).
``train``
    ``python -m musegen_widgets.train NAME`` reproduces each shipped model (chapters 01-07).
``infill_cells``
    The infilling model's cells: a pitch where a note starts, a hold where it goes on (chapter 06).
``masking``
    Orderless NADE's random masks, for the infilling model's training and likelihood (chapter 06).
``infilling``
    Harmonising a melody and rewriting any cells of a chorale by Gibbs or ancestral sampling (chapter 06).
``metrics``
    Likelihood, Yang & Lerch's features and set comparison, MuseGAN's metrics, copy detection, the
    listening test's statistics (chapters 01 and 04).
``listening_answers``
    Where chapter 04's blind listening test keeps its answers: a CSV file per listener, written under a lock,
    a class's files pooled (chapter 04).
``generators``
    Every melody and four-voice source of the course behind one call, for chapter 04's tables.
``compression``
    int8 weights, magnitude pruning and fine-tuning with the zeros held (chapter 07).
``distillation``
    A teacher's distributions and melodies as a student's training targets (chapter 07).
``efficiency``
    Multiply-adds, latency, and a real int8 runtime (chapter 07).
``distribute``
    The course's training loop on several devices and machines with ``tf.distribute`` (chapter 07).

Importing the package and its data modules is cheap: music21, verovio, matplotlib and TensorFlow load
only when a function needs them (the model modules, ``train`` and ``distillation`` load TensorFlow).
"""

import os

from .errors import MusegenError

# TensorFlow logs its C++ start-up chatter straight to the process's stderr, which a notebook shows. Quiet
# it unless the learner asked for it (import musegen_widgets before TensorFlow or Keras). The oneDNN kernels
# announce themselves whatever the log level, and their results differ from machine to machine in the
# last digits: the course uses TensorFlow's default kernels.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

__all__ = ["MusegenError", "fast_mode"]
__version__ = "0.2.0"


def fast_mode() -> bool:
    """Whether the course runs in CI's fast mode (``MUSEGEN_FAST=1``, set by the README's test command).

    Taught in chapter 01, section 5 (training).

    In fast mode, chapters that train a model train a tiny one for a few steps instead of loading the
    shipped weights, so that CI exercises the training code in seconds.
    """
    return os.environ.get("MUSEGEN_FAST", "") not in ("", "0")
