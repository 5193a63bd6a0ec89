"""The blind listening test: answers saved at once, a restart continues, a class pooled, the statistics.

Where the answers are kept (files, lock, pooling) is tested in test_listening_answers.py."""

from musegen_widgets import metrics
from musegen_widgets.encoding import HOLD, pitch_to_token
from musegen_widgets.errors import MusegenError
from musegen_widgets.widgets import ListeningTest

import numpy as np
import pytest


def tune(*pitches):
    return np.array([token for p in pitches for token in (pitch_to_token(p), HOLD, HOLD, HOLD)])


SOURCES = {
    "real": [tune(60, 62, 64, 65), tune(67, 65, 64, 62)],
    "model A": [tune(60, 60, 60, 60)],
    "model B": [tune(72, 48, 72, 48), tune(50, 90, 50, 90)],
}


def test_answers_are_saved_at_once_and_a_restart_continues(tmp_path):
    test = ListeningTest(SOURCES, folder=tmp_path, trials=6, seed=1)
    assert len(test.plan) == 6 and not (tmp_path / "listening_test.csv").exists()
    sources_per_trial = [{test.plan[t]["left"][0], test.plan[t]["right"][0]} for t in range(6)]
    assert all("real" in pair and len(pair) == 2 for pair in sources_per_trial)  # real against a model
    assert {next(iter(pair - {"real"})) for pair in sources_per_trial} == {"model A", "model B"}
    assert test.left_player.value[:4] == b"RIFF" and test.right_player.value[:4] == b"RIFF"

    test.buttons[0].click()
    test.answer("right")
    lines = (tmp_path / "listening_test.csv").read_text().splitlines()
    assert len(lines) == 3 and lines[0].startswith("trial,question,left_source")

    # a new kernel, the same test: it continues at trial 3
    again = ListeningTest(SOURCES, folder=tmp_path, trials=6, seed=1)
    assert len(again.answers) == 2 and "trial 3 of 6" in again.progress.value
    for _ in range(4):
        again.answer("left")
    assert all(button.disabled for button in again.buttons)
    assert "model A" in again.results_html.value  # revealed at the end
    again.answer("left")
    assert "finished" in again.message.value and len(again.answers) == 6

    # the results are counted from the file's rows
    results = again.results()
    for name in ("model A", "model B"):
        rows = [row for row in again.answers if name in (row["left_source"], row["right_source"])]
        chosen = sum(row["chosen_source"] == name for row in rows)
        assert results[name]["trials"] == len(rows) and results[name]["chosen"] == chosen
        assert results[name]["p_value"] == metrics.binomial_test(chosen, len(rows))
    # two sources, two tests: Holm's adjustment of both p-values, shown in the table
    adjusted = metrics.holm([results[name]["p_value"] for name in ("model A", "model B")])
    assert [results[name]["p_holm"] for name in ("model A", "model B")] == adjusted.tolist()
    assert "Holm-adjusted" in again.results_html.value


def test_answers_to_another_test_are_not_mixed_in(tmp_path):
    first = ListeningTest(SOURCES, folder=tmp_path, trials=4, seed=1)
    first.answer("left")
    saved = (tmp_path / "listening_test.csv").read_bytes()
    with pytest.raises(MusegenError, match="not an answer to this test"):
        ListeningTest(SOURCES, folder=tmp_path, trials=4, seed=2)
    with pytest.raises(MusegenError, match="not an answer to this test"):
        ListeningTest(SOURCES, folder=tmp_path, trials=4, seed=1, question="Which is more musical?")
    assert (tmp_path / "listening_test.csv").read_bytes() == saved


def test_bad_set_ups_are_named(tmp_path):
    with pytest.raises(MusegenError, match="at least two sources"):
        ListeningTest({"real": SOURCES["real"]}, folder=tmp_path)
    with pytest.raises(MusegenError, match="at least two sources"):
        ListeningTest({"real": SOURCES["real"], "empty": []}, folder=tmp_path)
    with pytest.raises(MusegenError, match="reference"):
        ListeningTest(SOURCES, folder=tmp_path, reference="Mozart")
    with pytest.raises(MusegenError, match="'left' or 'right'"):
        ListeningTest(SOURCES, folder=tmp_path).answer("middle")
    foreign = tmp_path / "scores.csv"
    foreign.write_text("name,score\nAda,3\n")
    with pytest.raises(MusegenError, match="not a listening-test answers file"):  # before any widget is made
        ListeningTest(SOURCES, folder=tmp_path, filename="scores.csv")
    assert foreign.read_text() == "name,score\nAda,3\n"


def test_binomial_interval_covers_and_narrows():
    low, high = metrics.binomial_interval(30, 60)
    assert low < 0.5 < high and high - low < 0.3
    assert metrics.binomial_interval(10, 10)[1] == 1.0
    with pytest.raises(MusegenError, match="0 <= k <= n"):
        metrics.binomial_test(11, 10)


def test_a_class_shares_a_folder_one_file_per_listener_pooled_on_reveal(tmp_path):
    ada = ListeningTest(SOURCES, folder=tmp_path, trials=6, seed=1, listener="Ada Lovelace")
    bob = ListeningTest(SOURCES, folder=tmp_path, trials=6, seed=1, listener="../Bob <b>")
    assert ada.path.name == "listening_test.Ada-Lovelace.csv" and bob.path.name == "listening_test.Bob-b.csv"
    assert ada.path.parent == bob.path.parent == tmp_path  # a name cannot leave the folder
    assert ada.plan == bob.plan  # the same trials in the same order: their answers can be compared
    generated = [next(side for side in ("left", "right") if ada.plan[t][side][0] != "real") for t in range(6)]
    for side in generated[:4]:
        ada.answer(side)  # Ada picks the generated excerpt every time
        bob.answer(side)  # and so does Bob
    bob.answer("left")
    (tmp_path / "listening_test.Cy.csv").write_text("not,an,answers,file\n")
    ada.reveal()
    results = ada.results()
    assert sum(row["trials"] for row in results.values()) == 9  # 4 + 5 answers, pooled
    assert sum(row["chosen"] for row in results.values()) >= 8
    kappa, common = ada.agreement()
    assert common == 4 and kappa == pytest.approx(float("nan"), nan_ok=True)  # all chose alike: no chance
    page = ada.results_html.value
    assert "2 listener(s)" in page and "listening_test.Cy.csv" in page and "power" in page
    # a third listener who disagrees every time: agreement falls below chance
    cy = ListeningTest(SOURCES, folder=tmp_path, trials=6, seed=1, listener="Dee")
    for side in generated[:4]:
        cy.answer("left" if side == "right" else "right")
    kappa, common = cy.agreement()
    assert common == 4 and kappa < 0
    with pytest.raises(MusegenError, match="needs a letter or a digit"):
        ListeningTest(SOURCES, folder=tmp_path, listener="../ ?")


def test_power_grows_with_the_trials(tmp_path):
    test = ListeningTest(SOURCES, folder=tmp_path, trials=40, seed=0)
    powers = []
    for _ in range(2):
        for _ in range(20):
            test.answer("left")
        powers.append(test.results()["model A"]["power"])
    assert 0 <= powers[0] < powers[1] <= 1


def test_a_second_tab_as_the_same_listener_is_told_and_moves_on(tmp_path):
    first, second = (
        ListeningTest(SOURCES, folder=tmp_path, trials=4, seed=1, listener="Ada") for _ in range(2)
    )
    first.answer("left")
    second.answer("right")  # still showing trial 1, which the first tab has answered
    assert "trial 1 had already been answered in another tab" in second.message.value
    assert [row["answer"] for row in second.answers] == ["left"] and "trial 2 of 4" in second.progress.value
    second.answer("right")
    assert second.message.value == "" and [row["answer"] for row in second.answers] == ["left", "right"]
    assert len(ListeningTest(SOURCES, folder=tmp_path, trials=4, seed=1, listener="Ada").answers) == 2


def test_a_lock_held_too_long_refuses_the_answer_with_a_message(tmp_path, monkeypatch):
    from musegen_widgets import listening_answers

    import filelock

    monkeypatch.setattr(listening_answers, "LOCK_TIMEOUT", 0.2)
    test = ListeningTest(SOURCES, folder=tmp_path, trials=4, seed=1)
    with filelock.FileLock(tmp_path / ".listening_test.csv.lock"):  # another kernel, answering (or stuck)
        test.answer("left")
    assert "stayed locked" in test.message.value and ".listening_test.csv.lock" in test.message.value
    assert test.answers == [] and not test.path.exists()  # nothing saved, nothing lost
    test.answer("left")  # the lock is free again
    assert test.message.value == "" and len(test.answers) == 1 and test.path.exists()


def test_no_excerpt_is_heard_twice_while_its_source_has_unheard_ones(tmp_path):
    sources = {
        "real": [tune(60 + k, 62, 64, 65) for k in range(6)],
        "a": [tune(70, 60, 60, 60)] * 4,
        "b": [tune(50, 52, 53, 55)] * 2,
    }
    test = ListeningTest(sources, folder=tmp_path, trials=12, seed=3)
    heard = {name: [] for name in sources}
    for trial in test.plan:
        for name, index in (trial["left"], trial["right"]):
            heard[name].append(index)
    assert sorted(heard["real"][:6]) == list(range(6)) and sorted(heard["real"][6:]) == list(range(6))
    assert sorted(heard["a"][:4]) == list(range(4)) and sorted(heard["b"][:2]) == list(range(2))
    assert sorted(heard["b"][2:4]) == list(range(2))  # then again, each once


def test_every_excerpt_plays_from_its_first_note(tmp_path):
    import io

    from musegen_widgets import audio

    import soundfile

    late = np.concatenate([[1] + [HOLD] * 11, tune(60, 62, 64, 65)])  # a rest of three beats, then the tune
    test = ListeningTest({"real": [late], "model": [tune(60, 62, 64, 65)]}, folder=tmp_path, trials=2, seed=0)
    sounds = [soundfile.read(io.BytesIO(player.value))[0] for player in (test.left_player, test.right_player)]
    assert len(sounds[0]) == len(sounds[1])  # the rest is not played: the two sound alike
    start = np.flatnonzero(np.abs(sounds[0]) > 1e-3)[0] / audio.SAMPLE_RATE
    assert start < 0.05
