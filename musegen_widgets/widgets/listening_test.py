"""``ListeningTest``: a blind listening test, answers saved as they are given, a binomial test (chapter 04)."""

from __future__ import annotations

import html
import io
from pathlib import Path

import ipywidgets as widgets
import numpy as np

from .. import audio
from ..errors import MusegenError
from ..files import write_atomically
from ._base import error_html

__all__ = ["ListeningTest"]

_ANSWER_COLUMNS = [
    "trial",
    "question",
    "left_source",
    "left_index",
    "right_source",
    "right_index",
    "answer",
    "chosen_source",
    "answered_at",
]


class ListeningTest(widgets.VBox):
    """A blind listening test: pairs of excerpts, one real and one generated, in random order, unlabelled.

    Taught in chapter 04, section 8 (a blind listening test).

    Each trial plays two excerpts, one from the ``reference`` source and one from another source (the
    sources take turns), left and right at random, and asks ``question``. Each answer is written to a CSV
    file in ``folder`` the moment it is given (the whole file replaced atomically), so a kernel restart
    loses nothing: a new ``ListeningTest`` with the same sources, seed and folder continues where the last
    one stopped. A file there that is not this test's is reported and left as it is. "Reveal results" (or
    the last answer) shows, per source, how often its excerpt was chosen, with an exact binomial test
    against guessing, its p-value adjusted for all the sources by Holm's method, and a 95 % Clopper-Pearson
    interval (:func:`~musegen_widgets.metrics.binomial_test`, :func:`~musegen_widgets.metrics.holm`).

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
        Name of the answers file in ``folder``.

    Raises
    ------
    MusegenError
        For fewer than two sources, an empty source, or an answers file that is not this test's.
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
    ):
        if len(sources) < 2 or any(len(excerpts) == 0 for excerpts in sources.values()):
            raise MusegenError("a listening test needs at least two sources, each with an excerpt")
        self.sources, self.question = sources, question
        self.reference = reference if reference is not None else next(iter(sources))
        if self.reference not in sources:
            raise MusegenError(f"the reference {self.reference!r} is not one of the sources")
        self.path = Path(folder) / filename
        self.plan = self._plan(trials, seed)
        self.answers = self._read_answers()  # raises for a foreign or corrupt file, before any widget exists
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
        plan = []
        for trial in range(trials):
            other = others[trial % len(others)]
            pair = [
                (self.reference, int(rng.integers(len(self.sources[self.reference])))),
                (other, int(rng.integers(len(self.sources[other])))),
            ]
            if rng.random() < 0.5:
                pair.reverse()
            plan.append({"left": pair[0], "right": pair[1]})
        return plan

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

    def _read_answers(self) -> list[dict[str, str]]:
        import csv

        if not self.path.exists():
            return []
        leave = "it was left as it is: move it, or give the test another folder or filename"
        try:
            table = list(csv.reader(io.StringIO(self.path.read_text(encoding="utf-8"))))
        except (UnicodeDecodeError, csv.Error) as error:
            raise MusegenError(
                f"this is not a listening-test answers file ({error}); {leave}", self.path
            ) from None
        header = table[0] if table else None
        if header != _ANSWER_COLUMNS:
            raise MusegenError(
                f"this is not a listening-test answers file (its columns are {header}); {leave}", self.path
            )
        rows = [dict(zip(header, values)) for values in table[1:] if values]
        if len(rows) > len(self.plan):
            raise MusegenError(
                f"it holds {len(rows)} answers for a test of {len(self.plan)} trials; {leave}", self.path
            )
        for trial, row in enumerate(rows):
            expected = self._expected_row(trial)
            if any(row.get(key) != value for key, value in expected.items()) or row.get("answer") not in (
                "left",
                "right",
            ):
                raise MusegenError(
                    f"row {trial + 2} is not an answer to this test (other sources, seed or question); {leave}",
                    self.path,
                )
        return rows

    def _write_answers(self) -> None:
        import csv

        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=_ANSWER_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.answers)
        write_atomically(self.path, buffer.getvalue().encode("utf-8"))

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
            player.value = audio.wav_bytes(self.sources[name][index])

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
            self.answers.append(row)
            self._write_answers()
        except OSError as error:
            self.answers.pop()
            self.message.value = error_html(
                MusegenError(f"the answer could not be saved ({error})", self.path)
            )
            return
        self.message.value = ""
        self._show_trial()

    def results(self) -> dict[str, dict[str, float]]:
        """Per generated source: trials, times its excerpt was chosen, that rate, its 95 % interval, p-value,
        and the p-value adjusted by Holm's method for testing every source that has answers
        (``p_holm``: compare this one with 0.05)."""
        from .. import metrics

        table = {}
        for name in self.sources:
            if name == self.reference:
                continue
            rows = [row for row in self.answers if name in (row["left_source"], row["right_source"])]
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
            }
        answered = [name for name, row in table.items() if row["trials"]]
        adjusted = dict(zip(answered, metrics.holm([table[name]["p_value"] for name in answered])))
        for name, row in table.items():
            row["p_holm"] = float(adjusted.get(name, float("nan")))
        return table

    def reveal(self) -> None:
        """Show the results table (what the answers so far say)."""
        lines = [
            "<table><tr><th>generated source</th><th>trials</th><th>its excerpt chosen</th>"
            "<th>95 % interval</th><th>p (vs guessing)</th><th>p, Holm-adjusted</th></tr>"
        ]
        for name, row in self.results().items():
            if row["trials"]:
                lines.append(
                    f"<tr><td>{html.escape(name)}</td><td>{row['trials']}</td><td>{row['chosen']} "
                    f"({row['rate']:.0%})</td><td>{row['low']:.0%} - {row['high']:.0%}</td>"
                    f"<td>{row['p_value']:.3f}</td><td>{row['p_holm']:.3f}</td></tr>"
                )
            else:
                lines.append(
                    f"<tr><td>{html.escape(name)}</td><td>0</td><td colspan=4>no answers yet</td></tr>"
                )
        lines.append("</table>")
        self.results_html.value = "".join(lines) + (
            f"<p>Chosen means picked as the answer to &ldquo;{html.escape(self.question)}&rdquo;. "
            "A source the listener cannot tell from the real music is chosen about half the time "
            "(p large). With several sources, read the Holm-adjusted p: below 0.05 says the listener's "
            "choices for that source were not guesses, with a 5 % chance of any false alarm over all of them.</p>"
        )

    def __repr__(self) -> str:
        return f"ListeningTest({len(self.answers)} of {len(self.plan)} answered, {self.path})"
