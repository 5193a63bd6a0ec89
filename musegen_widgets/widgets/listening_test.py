"""``ListeningTest``: a blind listening test, answers saved as they are given, a binomial test (chapter 04).

The widget plays and asks; where the answers are kept (a CSV file per listener, written under a lock, a
class's files pooled) is :mod:`musegen_widgets.listening_answers`.
"""

from __future__ import annotations

import base64
import dataclasses
import html
from pathlib import Path

import ipywidgets as widgets
import numpy as np

from .. import audio, encoding, listening_answers
from ..errors import MusegenError
from ..listening_answers import listener_name
from ..piece import Piece
from ._base import StaticFallback, error_html

__all__ = ["ListeningTest"]


class ListeningTest(StaticFallback, widgets.VBox):
    """A blind listening test: pairs of excerpts, one real and one generated, in random order, unlabelled.

    Taught in chapter 04, section 8 (a blind listening test).

    Each trial plays two excerpts, one from the ``reference`` source and one from another source (the
    sources take turns), left and right at random, and asks ``question``. Nothing but the music may tell
    them apart: each excerpt plays from its first note (a model that always opens with a rest, or a real
    excerpt with a pickup, would otherwise be known by its silence), and no excerpt is played twice while
    its source has one not yet played (give the reference as many excerpts as it has trials, or an excerpt
    heard before marks the real one). Each answer is written to a CSV
    file in ``folder`` the moment it is given (the whole file replaced atomically), so a kernel restart
    loses nothing: a new ``ListeningTest`` with the same sources, seed and folder continues where the last
    one stopped. A file there that is not this test's is reported and left as it is. "Reveal results" (or
    the last answer) shows, per source, how often its excerpt was chosen, with an exact binomial test
    against guessing, its p-value adjusted for all the sources by Holm's method, a 95 % Clopper-Pearson
    interval (:func:`~musegen_widgets.metrics.binomial_test`, :func:`~musegen_widgets.metrics.holm`), and the
    power of the answers so far to detect a source whose excerpt is chosen a quarter of the time.

    **A class.** With ``listener`` (each student's own name), the answers go to a file of that listener's in
    ``folder`` (a folder the class shares), named from ``filename`` and the name with everything but letters,
    digits, ``-`` and ``_`` replaced. Everyone gets the same trials in the same order. "Reveal results" reads
    every listener's file of this test in the folder and pools them, and reports how much the listeners agree
    (Fleiss' kappa over the trials all of them have answered, :func:`~musegen_widgets.metrics.fleiss_kappa`).
    Answers are recorded under a lock and checked against the file first, so two tabs (or kernels) answering
    at once as the same listener lose nothing: the second answer to a trial is refused with a message, and
    that tab moves on to the next. (The files, the lock and the pooling:
    :mod:`musegen_widgets.listening_answers`.)

    Parameters
    ----------
    sources
        Name -> list of excerpts (anything :class:`ScoreView` plays), at least two sources.
    folder
        Where the answers file goes.
    reference
        The real music's source name (default: the first).
    question
        Asked at every trial; an answer picks the excerpt that fits it.
    trials
        Number of trials.
    seed
        Fixes the pairs and their order (and so which file rows belong to this test).
    filename
        Name of the answers file in ``folder`` (with ``listener``, the name is put before its suffix).
    listener
        The listener's name, for a class sharing ``folder`` (``None``: one listener, the file ``filename``).

    Raises
    ------
    MusegenError
        For fewer than two sources, an empty source, a listener's name with no letter or digit, or an
        answers file that is not this test's.
    """

    def __init__(
        self,
        sources: dict[str, list],
        folder: str | Path = ".",
        reference: str | None = None,
        question: str = "Which excerpt did Bach write?",
        trials: int = 12,
        seed: int = 0,
        filename: str = "listening_test.csv",
        listener: str | None = None,
    ):
        if len(sources) < 2 or any(len(excerpts) == 0 for excerpts in sources.values()):
            raise MusegenError("a listening test needs at least two sources, each with an excerpt")
        self.sources, self.question = sources, question
        self.reference = reference if reference is not None else next(iter(sources))
        if self.reference not in sources:
            raise MusegenError(f"the reference {self.reference!r} is not one of the sources")
        self.folder, self.filename = Path(folder), filename
        self.listener = None if listener is None else listener_name(listener)
        self.path = listening_answers.answers_path(self.folder, filename, self.listener)
        self.plan = self._plan(trials, seed)
        # what each trial's row in the answers file must hold; a foreign or corrupt file raises, before any widget
        self._trial_rows = [self._expected_row(trial) for trial in range(len(self.plan))]
        self.answers = listening_answers.read_answers(self.path, self._trial_rows)
        self.left_player, self.right_player = (
            widgets.Audio(format="wav", autoplay=False, loop=False) for _ in range(2)
        )
        self.buttons = [
            widgets.Button(description=f"Excerpt {side}", button_style="info", icon="check")
            for side in (1, 2)
        ]
        self.buttons[0].on_click(lambda _button: self.answer("left"))
        self.buttons[1].on_click(lambda _button: self.answer("right"))
        self._reveal = widgets.Button(description="Reveal results", icon="eye")
        self._reveal.on_click(lambda _button: self.reveal())
        self.progress = widgets.HTML()
        self.message = widgets.HTML()
        self.results_html = widgets.HTML()
        excerpt_boxes = [
            widgets.VBox([widgets.HTML(f"<b>Excerpt {side}</b>"), player, button])
            for side, player, button in zip((1, 2), (self.left_player, self.right_player), self.buttons)
        ]
        super().__init__(
            [
                widgets.HTML(f"<b>{html.escape(question)}</b>"),
                self.progress,
                widgets.HBox(excerpt_boxes),
                self._reveal,
                self.message,
                self.results_html,
            ]
        )
        self._show_trial()

    def _plan(self, trials: int, seed: int) -> list[dict]:
        rng = np.random.default_rng(seed)
        others = [name for name in self.sources if name != self.reference]
        unplayed: dict[str, list[int]] = {name: [] for name in self.sources}

        def draw(name: str) -> tuple[str, int]:  # every excerpt once, in random order, before any again
            if not unplayed[name]:
                unplayed[name] = rng.permutation(len(self.sources[name])).tolist()
            return name, int(unplayed[name].pop())

        plan = []
        for trial in range(trials):
            pair = [draw(self.reference), draw(others[trial % len(others)])]
            if rng.random() < 0.5:
                pair.reverse()
            plan.append({"left": pair[0], "right": pair[1]})
        return plan

    def _sound(self, name: str, index: int, encode=audio.wav_bytes) -> bytes:
        """An excerpt's sound, from its first note on."""
        return encode(_from_first_note(self.sources[name][index]))

    def _expected_row(self, trial: int) -> dict[str, str]:
        (left, left_index), (right, right_index) = self.plan[trial]["left"], self.plan[trial]["right"]
        return {
            "trial": str(trial + 1),
            "question": self.question,
            "left_source": left,
            "left_index": str(left_index),
            "right_source": right,
            "right_index": str(right_index),
        }

    def listener_files(self) -> dict[str, Path]:
        """Every listener's answers file of this test in the folder, by listener name (class mode)."""
        return listening_answers.listener_files(self.folder, self.filename)

    def _show_trial(self) -> None:
        done = len(self.answers)
        self.progress.value = f"trial {min(done + 1, len(self.plan))} of {len(self.plan)} ({done} answered)"
        finished = done >= len(self.plan)
        for button in self.buttons:
            button.disabled = finished
        if finished:
            self.reveal()
            return
        for player, side in ((self.left_player, "left"), (self.right_player, "right")):
            name, index = self.plan[done][side]
            player.value = self._sound(name, index)

    def answer(self, side: str) -> None:
        """Record the answer to the current trial (``"left"`` or ``"right"``) and go on to the next."""
        import datetime

        if side not in ("left", "right"):
            raise MusegenError(f"an answer is 'left' or 'right', not {side!r}")
        trial = len(self.answers)
        if trial >= len(self.plan):
            self.message.value = "the test is finished: every trial has an answer"
            return
        row = {
            **self._expected_row(trial),
            "answer": side,
            "chosen_source": self.plan[trial][side][0],
            "answered_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        }
        try:
            recorded, self.answers = listening_answers.record_answer(self.path, row, self._trial_rows)
        except OSError as error:
            self.message.value = error_html(
                MusegenError(f"the answer could not be saved ({error})", self.path)
            )
            return
        except MusegenError as error:  # the file was changed meanwhile into something else: say so, keep it
            self.message.value = error_html(error)
            return
        self.message.value = (
            ""
            if recorded
            else f"trial {trial + 1} had already been answered in another tab or kernel as this listener; "
            "that answer stays, and here is the next trial"
        )
        self._show_trial()

    def class_answers(self) -> tuple[dict[str, list[dict[str, str]]], list[str]]:
        """Every listener's answers to this test in the folder (class mode; else this listener's), and the
        problems of the files that could not be read (named, and left as they are)."""
        if self.listener is None:
            return {"": self.answers}, []
        answers, problems = listening_answers.pool_answers(self.folder, self.filename, self._trial_rows)
        answers[self.listener] = answers.get(self.listener, self.answers)
        return answers, problems

    def agreement(self, answers: dict[str, list[dict[str, str]]] | None = None) -> tuple[float, int]:
        """Fleiss' kappa of the listeners' choices (the generated excerpt or the real one) over the trials
        every listener has answered, and the number of those trials; NaN with fewer than two listeners or no
        trial answered by all."""
        from .. import metrics

        answers = self.class_answers()[0] if answers is None else answers
        listeners = [rows for rows in answers.values() if rows]
        common = min((len(rows) for rows in listeners), default=0)  # the same trials, in the same order
        if len(listeners) < 2 or common == 0:
            return float("nan"), common
        chose_generated = np.array(
            [[row["chosen_source"] != self.reference for row in rows[:common]] for rows in listeners]
        )
        counts = np.stack([chose_generated.sum(axis=0), (~chose_generated).sum(axis=0)], axis=1)
        return metrics.fleiss_kappa(counts), common

    def results(self, answers: dict[str, list[dict[str, str]]] | None = None) -> dict[str, dict[str, float]]:
        """Per generated source, over every listener's answers: trials, times its excerpt was chosen, that
        rate, its 95 % interval, p-value, the p-value adjusted by Holm's method for testing every source that
        has answers (``p_holm``: compare this one with 0.05), and ``power``: the chance that this many trials
        find a source chosen a quarter of the time, at Holm's strictest level (0.05 over the sources).
        Answers of several listeners to the same trial are counted as separate trials. ``answers``: those
        of :meth:`class_answers`, when already read."""
        from .. import metrics

        answers = self.class_answers()[0] if answers is None else answers
        pooled = [row for rows in answers.values() for row in rows]
        level = 0.05 / max(1, len(self.sources) - 1)
        table = {}
        for name in self.sources:
            if name == self.reference:
                continue
            rows = [row for row in pooled if name in (row["left_source"], row["right_source"])]
            chosen = sum(row["chosen_source"] == name for row in rows)
            if rows:
                low, high = metrics.binomial_interval(chosen, len(rows))
                p_value = metrics.binomial_test(chosen, len(rows))
            else:
                low = high = p_value = float("nan")
            table[name] = {
                "trials": len(rows),
                "chosen": chosen,
                "rate": chosen / len(rows) if rows else float("nan"),
                "low": low,
                "high": high,
                "p_value": p_value,
                "power": metrics.binomial_power(len(rows), 0.25, alpha=level) if rows else 0.0,
            }
        answered = [name for name, row in table.items() if row["trials"]]
        adjusted = dict(zip(answered, metrics.holm([table[name]["p_value"] for name in answered])))
        for name, row in table.items():
            row["p_holm"] = float(adjusted.get(name, float("nan")))
        return table

    def reveal(self) -> None:
        """Show the results table (what the answers so far say)."""
        answers, problems = self.class_answers()
        lines = []
        if self.listener is not None:
            kappa, common = self.agreement(answers)
            listeners = sum(1 for rows in answers.values() if rows)
            agreement = (
                f"agreement between them (Fleiss' kappa over the {common} trials all have answered): {kappa:.2f}"
                if not np.isnan(kappa)
                else "agreement: needs two listeners with answers"
            )
            lines.append(f"<p>{listeners} listener(s) in {html.escape(str(self.folder))}; {agreement}.</p>")
        lines.append(
            "<table><tr><th>generated source</th><th>trials</th><th>its excerpt chosen</th>"
            "<th>95 % interval</th><th>p (vs guessing)</th><th>p, Holm-adjusted</th>"
            "<th>power (chosen 25 %)</th></tr>"
        )
        for name, row in self.results(answers).items():
            if row["trials"]:
                lines.append(
                    f"<tr><td>{html.escape(name)}</td><td>{row['trials']}</td><td>{row['chosen']} "
                    f"({row['rate']:.0%})</td><td>{row['low']:.0%} - {row['high']:.0%}</td>"
                    f"<td>{row['p_value']:.3f}</td><td>{row['p_holm']:.3f}</td><td>{row['power']:.0%}</td></tr>"
                )
            else:
                lines.append(
                    f"<tr><td>{html.escape(name)}</td><td>0</td><td colspan=5>no answers yet</td></tr>"
                )
        lines.append("</table>")
        lines.extend(f"<p>{error_html(problem)}</p>" for problem in problems)
        self.results_html.value = "".join(lines) + (
            f"<p>Chosen means picked as the answer to &ldquo;{html.escape(self.question)}&rdquo;. "
            "A source the listener cannot tell from the real music is chosen about half the time "
            "(p large). With several sources, read the Holm-adjusted p: below 0.05 says the listener's "
            "choices for that source were not guesses, with a 5 % chance of any false alarm over all of them.</p>"
        )

    def static_html(self) -> str:
        """What a saved notebook shows without a kernel: the question and the first trial as the test asks it,
        two unlabelled players (MP3 inside the page, :func:`~musegen_widgets.audio.mp3_bytes`), with no score,
        as in the test itself: a score would help tell the sources apart. The other trials' excerpts are
        not saved.

        Taught in chapter 04, section 8 (a blind listening test).
        """
        players = []
        for number, side in ((1, "left"), (2, "right")):
            name, index = self.plan[0][side]
            sound = base64.b64encode(self._sound(name, index, audio.mp3_bytes)).decode("ascii")
            label = f"Excerpt {number} of trial 1"
            players.append(
                f'<div style="display:inline-block;margin-right:2em"><b>Excerpt {number}</b><br>'
                f'<audio controls preload="metadata" aria-label="{label}" title="{label}" '
                f'src="data:audio/mpeg;base64,{sound}"></audio></div>'
            )
        return (
            f'<div class="musegen-listening"><p><b>{html.escape(self.question)}</b> A blind listening test of '
            f"{len(self.plan)} trials. Its first trial, as the test asks it:</p>{''.join(players)}"
            "<p>Run the notebook to answer and go on (the other trials' excerpts are not saved in the page).</p>"
            "</div>"
        )

    def __repr__(self) -> str:
        return f"ListeningTest({len(self.answers)} of {len(self.plan)} answered, {self.path})"


def _from_first_note(music) -> Piece:
    """The music with the silence before its first note left out (its bars shift with it: a listener hears
    no barlines)."""
    piece = encoding.to_piece(music)
    first = min((int(notes[:, 1].min()) for notes in piece.voices if len(notes)), default=0)
    return dataclasses.replace(
        piece,
        voices=tuple(notes - np.array([0, first, first]) for notes in piece.voices),
        length=piece.n_steps - first,
    )
