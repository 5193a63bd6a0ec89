"""Where the listening test keeps its answers: one checked CSV file per listener, written whole under a lock."""

import subprocess
import sys

from musegen_widgets import listening_answers
from musegen_widgets.errors import MusegenError
from musegen_widgets.listening_answers import (
    ANSWER_COLUMNS,
    answers_path,
    listener_files,
    listener_name,
    locked,
    pool_answers,
    read_answers,
    record_answer,
)

import filelock
import pytest

# what a test of four trials expects in each row before the answer: real excerpt 0 against model excerpt t
TRIALS = [
    {
        "trial": str(t + 1),
        "question": "Which excerpt did Bach write?",
        "left_source": "real",
        "left_index": "0",
        "right_source": "model",
        "right_index": str(t),
    }
    for t in range(4)
]


def answer(trial: int, side: str = "left") -> dict[str, str]:
    """The row of an answer to trial ``trial`` (from 0)."""
    chosen = TRIALS[trial]["left_source" if side == "left" else "right_source"]
    return {
        **TRIALS[trial],
        "answer": side,
        "chosen_source": chosen,
        "answered_at": "2026-12-07T12:00:00+00:00",
    }


def test_listener_names_are_safe_in_a_file_name_and_stay_in_the_folder(tmp_path):
    assert listener_name("Ada Lovelace") == "Ada-Lovelace"
    assert listener_name("../Bob <b>") == "Bob-b" and listener_name("x" * 50) == "x" * 40
    for name in ("../ ?", "", "///"):
        with pytest.raises(MusegenError, match="needs a letter or a digit"):
            listener_name(name)
    assert answers_path(tmp_path, "listening_test.csv") == tmp_path / "listening_test.csv"
    path = answers_path(tmp_path, "listening_test.csv", listener_name("../Bob <b>"))
    assert path == tmp_path / "listening_test.Bob-b.csv"


def test_listener_files_are_this_tests_files_of_named_listeners_only(tmp_path):
    for name in (
        "listening_test.Ada.csv",
        "listening_test.Bob-b.csv",
        "listening_test.csv",  # the single listener's file: no name
        "listening_test.a b.csv",  # not a name listener_name makes
        "listening_test.Cy.txt",
        "other_test.Dee.csv",
        "listening_test.Eve.csv.bak",
    ):
        (tmp_path / name).write_text("")
    found = listener_files(tmp_path, "listening_test.csv")
    assert found == {
        "Ada": tmp_path / "listening_test.Ada.csv",
        "Bob-b": tmp_path / "listening_test.Bob-b.csv",
    }
    assert listener_files(tmp_path, "other_test.csv") == {"Dee": tmp_path / "other_test.Dee.csv"}
    assert listener_files(tmp_path / "nowhere", "listening_test.csv") == {}


def test_answers_are_added_in_order_one_trial_once_and_read_back(tmp_path):
    path = tmp_path / "answers.csv"
    assert read_answers(path, TRIALS) == [] and not path.exists()  # no file: no answers yet
    assert record_answer(path, answer(0, "right"), TRIALS) == (True, [answer(0, "right")])
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == ",".join(ANSWER_COLUMNS) and len(lines) == 2 and lines[1].startswith("1,Which")
    # trial 1 again (another tab that had not seen the answer): not added; the file's answers come back
    assert record_answer(path, answer(0, "left"), TRIALS) == (False, [answer(0, "right")])
    assert record_answer(path, answer(2), TRIALS) == (False, [answer(0, "right")])  # trial 2 comes first
    assert record_answer(path, answer(1), TRIALS) == (True, [answer(0, "right"), answer(1)])
    assert read_answers(path, TRIALS) == [answer(0, "right"), answer(1)]
    assert not list(tmp_path.glob(".answers.csv.*.tmp"))  # written whole through a temporary file, renamed


@pytest.mark.parametrize(
    "content, problem",
    [
        (b"name,score\nAda,3\n", "not a listening-test answers file"),
        (b"\xff\xfe\x00garbage", "not a listening-test answers file"),
        (b"", "not a listening-test answers file"),
    ],
)
def test_a_foreign_or_corrupt_file_is_reported_and_left_alone(tmp_path, content, problem):
    path = tmp_path / "listening_test.csv"
    path.write_bytes(content)
    for attempt in (lambda: read_answers(path, TRIALS), lambda: record_answer(path, answer(0), TRIALS)):
        with pytest.raises(MusegenError, match=problem) as raised:
            attempt()
        assert str(path) in str(raised.value) and "left as it is" in str(raised.value)
    assert path.read_bytes() == content


def test_answers_to_another_test_are_not_mixed_in(tmp_path):
    path = tmp_path / "answers.csv"
    record_answer(path, answer(0), TRIALS)
    record_answer(path, answer(1), TRIALS)
    saved = path.read_bytes()
    other_question = [{**row, "question": "Which is more musical?"} for row in TRIALS]
    other_order = [TRIALS[1], TRIALS[0], *TRIALS[2:]]
    for trials in (other_question, other_order):
        with pytest.raises(MusegenError, match="row 2 is not an answer to this test"):
            read_answers(path, trials)
    with pytest.raises(MusegenError, match="holds 2 answers for a test of 1 trials"):
        read_answers(path, TRIALS[:1])
    path.write_text(saved.decode().replace(",left,real,", ",middle,real,", 1))
    with pytest.raises(MusegenError, match="row 2 is not an answer"):  # an answer is left or right
        read_answers(path, TRIALS)
    path.write_bytes(saved)
    assert read_answers(path, TRIALS) == [answer(0), answer(1)]


def test_a_class_is_pooled_and_files_that_cannot_be_read_are_named(tmp_path):
    for name, sides in (("Ada", "left left"), ("Bob", "right")):
        for trial, side in enumerate(sides.split()):
            record_answer(answers_path(tmp_path, "t.csv", name), answer(trial, side), TRIALS)
    record_answer(tmp_path / "t.csv", answer(0), TRIALS)  # a single listener's file: not a class member
    (tmp_path / "t.Cy.csv").write_text("not,an,answers,file\n")
    answers, problems = pool_answers(tmp_path, "t.csv", TRIALS)
    assert answers == {"Ada": [answer(0), answer(1)], "Bob": [answer(0, "right")]}
    assert (
        len(problems) == 1
        and "t.Cy.csv" in problems[0]
        and "not a listening-test answers file" in problems[0]
    )
    assert pool_answers(tmp_path, "other.csv", TRIALS) == ({}, [])


def test_the_lock_excludes_another_writer_and_one_held_too_long_refuses_the_answer(tmp_path, monkeypatch):
    path = tmp_path / "answers.csv"
    lock_file = tmp_path / ".answers.csv.lock"
    with locked(path), pytest.raises(filelock.Timeout):
        filelock.FileLock(lock_file, timeout=0.05).acquire()  # another kernel cannot take it meanwhile
    with filelock.FileLock(lock_file, timeout=0):  # free again once the block is left
        pass
    monkeypatch.setattr(listening_answers, "LOCK_TIMEOUT", 0.2)
    with filelock.FileLock(lock_file), pytest.raises(MusegenError, match="stayed locked") as raised:
        record_answer(path, answer(0), TRIALS)  # another kernel is answering (or is stuck)
    assert str(lock_file) in str(raised.value) and not path.exists()  # nothing saved, nothing half-written
    assert record_answer(path, answer(0), TRIALS)[0]  # the lock is free again


ANSWER_MANY = """
import sys

from musegen_widgets.listening_answers import answers_path, record_answer

trials = [
    {"trial": str(t + 1), "question": "?", "left_source": "real", "left_index": "0", "right_source": "model",
     "right_index": "0"}
    for t in range(60)
]
path = answers_path(sys.argv[1], "listening_test.csv", sys.argv[2])
answers, recorded = [], 0  # a tab: the answers it has seen, and how many of its own were recorded
while len(answers) < 60:
    row = {**trials[len(answers)], "answer": "left", "chosen_source": "real", "answered_at": "now"}
    added, answers = record_answer(path, row, trials)
    recorded += added
print(recorded)
"""


@pytest.mark.parametrize("names", [("Ada", "Bob"), ("Ada", "Ada")])
def test_two_tabs_answering_at_once_lose_nothing(tmp_path, names):
    tabs = [
        subprocess.Popen(
            [sys.executable, "-c", ANSWER_MANY, str(tmp_path), name], stdout=subprocess.PIPE, text=True
        )
        for name in names
    ]
    recorded = [int(tab.communicate(timeout=300)[0]) for tab in tabs]
    assert all(tab.returncode == 0 for tab in tabs)
    trials = [
        {
            "trial": str(t + 1),
            "question": "?",
            "left_source": "real",
            "left_index": "0",
            "right_source": "model",
            "right_index": "0",
        }
        for t in range(60)
    ]
    answers, problems = pool_answers(tmp_path, "listening_test.csv", trials)
    assert problems == [] and {name: len(rows) for name, rows in answers.items()} == dict.fromkeys(names, 60)
    assert sum(recorded) == sum(len(rows) for rows in answers.values())  # each recorded answer on file, once
