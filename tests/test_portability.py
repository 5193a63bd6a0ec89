"""The package runs on Windows too: no module needs a POSIX-only module or call (issue 30).

Windows has no ``fcntl``, ``termios``, ``resource``, ``pwd`` or ``grp``. Every module of the package is
imported in a fresh Python where those cannot be imported, and the listening test's answers, which are saved
under a lock, are saved there, the lock still excluding a second writer. The source is also searched for
the calls that exist only on POSIX systems.
"""

import re
import subprocess
import sys
from pathlib import Path

import musegen_widgets

PACKAGE = Path(musegen_widgets.__file__).resolve().parent

HIDDEN = ("fcntl", "termios", "resource", "pwd", "grp")

WITHOUT_POSIX = """
import importlib
import importlib.abc
import pkgutil
import sys
import threading

HIDDEN = set(sys.argv[2].split(","))


class Hide(importlib.abc.MetaPathFinder):
    # what `import fcntl` does on Windows: there is no such module
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in HIDDEN:
            raise ModuleNotFoundError(f"No module named {name!r} (hidden, as on Windows)", name=name)
        return None


for name in list(sys.modules):
    if name.partition(".")[0] in HIDDEN:
        del sys.modules[name]
sys.meta_path.insert(0, Hide())
try:
    import fcntl  # noqa: F401
except ImportError:
    pass
else:
    raise SystemExit("fcntl could still be imported: the test hides nothing")

import musegen_widgets


def walk_error(name):
    raise  # a subpackage that cannot be imported is a failure, not a package skipped


names = [
    m.name
    for m in pkgutil.walk_packages(musegen_widgets.__path__, "musegen_widgets.", onerror=walk_error)
    if not m.name.endswith(".__main__")  # a command, not a module to import
]
for name in names:
    importlib.import_module(name)
print("\\n".join(names))

# the listening test's answers, written under its lock
import numpy as np

from musegen_widgets.encoding import HOLD, pitch_to_token
from musegen_widgets import listening_answers
from musegen_widgets.widgets import ListeningTest


def tune(*pitches):
    return np.array([token for p in pitches for token in (pitch_to_token(p), HOLD, HOLD, HOLD)])


sources = {"real": [tune(60, 62)], "model": [tune(64, 65)]}
test = ListeningTest(sources, folder=sys.argv[1], trials=4, seed=0, listener="Ada")
test.answer("left")
assert test.message.value == "", test.message.value
# while another kernel holds the lock, an answer waits for it
answering = threading.Thread(target=test.answer, args=("right",))
with listening_answers.locked(test.path):
    answering.start()
    answering.join(timeout=1.0)
    waited = answering.is_alive()
answering.join(timeout=60)
assert waited, "the answer did not wait for the lock: without fcntl there is no lock"
assert test.message.value == "" and len(test.answers) == 2, (test.message.value, test.answers)
again = ListeningTest(sources, folder=sys.argv[1], trials=4, seed=0, listener="Ada")
assert [row["answer"] for row in again.answers] == ["left", "right"], again.answers
print("hidden and never imported:", sorted(n for n in sys.modules if n.partition(".")[0] in HIDDEN) == [])
"""


def test_every_module_imports_and_answers_are_saved_without_posix_modules(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_POSIX, str(tmp_path), ",".join(HIDDEN)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert lines[-1] == "hidden and never imported: True"
    imported = set(lines[:-1])
    on_disk = {
        ".".join(("musegen_widgets", *path.relative_to(PACKAGE).with_suffix("").parts)).removesuffix(
            ".__init__"
        )
        for path in PACKAGE.rglob("*.py")
    }
    on_disk = {name for name in on_disk if not name.endswith("__main__")} - {"musegen_widgets"}
    assert len(imported) > 20 and "musegen_widgets.widgets.listening_test" in imported
    assert on_disk <= imported  # every module of the package was imported, subpackages included
    lines = (tmp_path / "listening_test.Ada.csv").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3 and lines[0].startswith("trial,question,left_source")


POSIX_ONLY = re.compile(
    r"\bimport\s+(fcntl|termios|tty|pty|resource|pwd|grp|posix)\b"
    r"|\bfrom\s+(fcntl|termios|tty|pty|resource|pwd|grp|posix)\s+import\b"
    r"|\bos\.(fork|forkpty|getuid|geteuid|getgid|getegid|getpwuid|killpg|setsid|setpgrp|getpgid|sync|statvfs"
    r"|fstatvfs|mkfifo|nice|getloadavg|sched_\w+|pipe2|wait3|wait4|O_NOFOLLOW|O_CLOEXEC|WNOHANG)\b"
    r"|\bsignal\.(SIGKILL|SIGALRM|SIGHUP|SIGUSR1|SIGUSR2|SIGCHLD|SIGQUIT|SIGPIPE|alarm|setitimer|pause)\b"
    r"|['\"]/(dev|tmp|proc)/"
    r"|\bpreexec_fn\b|\bstart_new_session\b"
)


def test_no_posix_only_call_in_the_source():
    sources = sorted(PACKAGE.rglob("*.py"))
    assert len(sources) > 20
    found = [
        f"{path.relative_to(PACKAGE.parent)}:{number}: {line.strip()}"
        for path in sources
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if POSIX_ONLY.search(line)
    ]
    assert found == []
