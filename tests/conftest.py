"""Shared test helpers: run the CLI in-process or as a real subprocess; the markers by cost, kept honest.

Markers (``pyproject.toml``): ``slow`` (left out unless ``-m`` names it), ``e2e`` (starts another process:
the CLI as a user runs it, the tour, torchrun, Chromium, PostgreSQL, a linter, the exercise sandbox) and
``compile`` (calls ``torch.compile``). ``pytest -m "not e2e"`` is the unit suite. A test that starts a
process without ``e2e``, or compiles without ``compile``, fails and says which marker it needs.
"""

from __future__ import annotations

import html
import io
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
# A suite run under ATEN_CPU_CAPABILITY=avx2 on an AVX-512 machine, with the inductor cache the AVX-512 runs
# had filled, failed the 13 compiled-path tests with wrong numbers; with a cache of its own each passed (torch's
# on-disk key seems to leave out the vector instructions ATEN_CPU_CAPABILITY picks). One cache folder per capability, here and in the processes tests start.
os.environ.setdefault(
    "TORCHINDUCTOR_CACHE_DIR",
    str(Path(tempfile.gettempdir()) / f"torchinductor-descentlab-{torch.backends.cpu.get_cpu_capability().lower()}"),
)
sys.path.insert(0, str(REPO / "scripts"))
from record_tour_digests import TOUR_ENV, tour_command  # noqa: E402 - the tour as its digests were recorded

# Small but real training runs: 2,000 MNIST images, a 32-unit hidden layer.
TINY = ["--train-size", "2000", "--hidden", "32", "--val-size", "500", "--log-every", "5", "--eval-every", "20"]


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def cli(*args: str) -> Result:
    """Run ``descentlab ARGS`` in this process (fast), capturing output and the exit code."""
    from descentlab.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as e:  # argparse's --help and usage errors
            code = e.code if isinstance(e.code, int) else 1
    return Result(code, out.getvalue(), err.getvalue())


def cli_process(*args: str, timeout: float = 300, env: dict[str, str] | None = None) -> Result:
    """Run ``python -m descentlab.cli.main ARGS`` as a separate process, as a user would."""
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    done = subprocess.run(
        [sys.executable, "-m", "descentlab.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
    )
    return Result(done.returncode, done.stdout, done.stderr)


def popen(*args: str, **kwargs: Any) -> subprocess.Popen[str]:
    """``python -m descentlab.cli.main ARGS`` started in the background, as a user's shell or a scheduler would."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-m", "descentlab.cli.main", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, **kwargs)  # fmt: skip


def signal_when_logging(proc: subprocess.Popen[str], out: Path, signum: int, records: int = 1,
                        timeout: float = 120) -> tuple[Path, str]:  # fmt: skip
    """Send ``signum`` to ``proc`` once its run under ``out`` has logged ``records`` records; returns the run
    folder and what the process printed on stderr."""
    from descentlab.runs import read_metrics

    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        found = list(out.glob("*/*/metrics.jsonl"))
        if found and len(read_metrics(found[0])) >= records:
            break
        time.sleep(0.02)
    else:
        proc.kill()
        raise AssertionError(f"the run under {out} did not log {records} records: {proc.communicate()[1][-2000:]}")
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=timeout)
    return found[0].parent, err


def assert_one_line_error(result: Result, *fragments: str) -> None:
    """Exit code 2, a single line on stderr containing every fragment, and no traceback."""
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


def printed_commands(page: str) -> list[str]:
    """Every ``descentlab`` command an HTML page prints: each line of a ``<pre>`` block, and each inline
    ``<code>`` outside them."""
    found = []
    for block in re.findall(r"<pre\b[^>]*>(.*?)</pre>", page, flags=re.S):
        found += [line.strip() for line in html.unescape(re.sub(r"<[^>]+>", "", block)).splitlines()]
    outside = re.sub(r"<pre\b.*?</pre>", "", page, flags=re.S)
    found += [html.unescape(c).strip() for c in re.findall(r"<code>([^<]*)</code>", outside)]
    return sorted({c for c in found if c.startswith("descentlab ")})


def broken_links(pages: dict[str, str]) -> list[str]:
    """Every internal link of a set of pages (file name to HTML) that does not resolve to an anchor."""
    ids = {name: set(re.findall(r'\bid="([^"]+)"', text)) for name, text in pages.items()}
    broken = []
    for name, text in pages.items():
        for href in re.findall(r'href="([^"]+)"', text):
            page, _, anchor = href.partition("#")
            if page.endswith(".css"):
                continue
            target = page or name
            if target not in ids or (anchor and anchor not in ids[target]):
                broken.append(f"{name}: {href}")
    return broken


def command_error(command: str) -> str:
    """What is wrong with a printed command ("" when the CLI accepts it), found by parsing it as ``main``
    would, without running it. A word in capitals is a placeholder (``NAME``): its value is not checked.
    A command named without its required arguments (``descentlab exercise grade`` in a sentence) passes."""
    from descentlab.cli.main import _call, parser
    from descentlab.errors import UserError

    argv = shlex.split(command)[1:]
    err = io.StringIO()
    try:
        with redirect_stderr(err):
            args = parser("exercise" if argv[:1] == ["exercise"] else "").parse_args(argv)
    except SystemExit:
        message = err.getvalue().strip()
        return "" if "the following arguments are required" in message else message
    if any(word.isupper() for word in argv):
        return ""
    try:
        _call(args.declaration, args, argv)
    except UserError as e:
        return str(e)
    return ""


CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]  # fmt: skip


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Headless Chromium with a fresh profile under ``tmp_path`` (``--dump-dom URL``, ``--screenshot=...``)."""
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    assert exe, "headless Chromium is needed for this test: bash scripts/setup.sh --dev installs it"
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    return subprocess.run(
        [exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args], capture_output=True, text=True, timeout=120
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Slow tests run only when ``-m`` names the marker (``pytest -m slow``): the default suite and
    ``pytest -m "not e2e"`` leave them out."""
    if "slow" in (config.getoption("markexpr") or ""):
        return
    slow = [item for item in items if item.get_closest_marker("slow") is not None]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if item.get_closest_marker("slow") is None]


_RUNNING: list[pytest.Item] = []  # the test being set up, run or torn down (module fixtures included)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    _RUNNING[:] = [item]


def _needs(marker: str, what: str) -> None:
    """Fail the running test unless it (or its module) carries ``marker``, or ``compile`` (whose torch.compile
    starts its own worker processes)."""
    if not _RUNNING:
        return
    marked = {m.name for m in _RUNNING[0].iter_markers()}
    if marker not in marked and "compile" not in marked:
        raise AssertionError(f"{_RUNNING[0].nodeid} {what}: mark it @pytest.mark.{marker}")


def pytest_configure(config: pytest.Config) -> None:
    """A test that starts a process is marked ``e2e``, one that compiles is marked ``compile``; else it fails,
    naming the marker. Checked where every process and every compilation starts, fixtures included."""
    popen_init, compile_ = subprocess.Popen.__init__, torch.compile

    def guarded_popen(self: subprocess.Popen[Any], args: Any, *rest: Any, **kwargs: Any) -> None:
        _needs("e2e", f"starts a process ({str(args)[:80]})")
        popen_init(self, args, *rest, **kwargs)

    def guarded_compile(*args: Any, **kwargs: Any) -> Any:
        _needs("compile", "calls torch.compile")
        return compile_(*args, **kwargs)

    subprocess.Popen.__init__ = guarded_popen  # type: ignore[method-assign]
    torch.compile = guarded_compile  # type: ignore[assignment]


@pytest.fixture
def tmp_runs(tmp_path: Path) -> Path:
    return tmp_path / "runs"


class StopAfter:
    """A stop flag that asks to stop at the n-th check (as Ctrl-C would, after n training steps)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.signum = 2  # as if Ctrl-C had asked

    @property
    def requested(self) -> bool:
        self.n -= 1
        return self.n == 0

    def checkpoint_due(self) -> bool:
        return False


# The quick tour (tests/test_tour.py) takes minutes on one core: it starts, on one thread, as soon as collection
# selects a test that needs it, and runs beside the rest of the suite; the ``quick_tour`` fixture waits for it.
_TOUR: dict[str, Any] = {}


def pytest_collection_finish(session: pytest.Session) -> None:
    if session.config.option.collectonly or not any(
        "quick_tour" in getattr(item, "fixturenames", ()) for item in session.items
    ):
        return
    root = Path(tempfile.mkdtemp(prefix="descentlab-tour-"))
    stdout, stderr = (root / "stdout.txt").open("w"), (root / "stderr.txt").open("w")
    proc = subprocess.Popen(tour_command(root), stdout=stdout, stderr=stderr, env={**os.environ, **TOUR_ENV})
    _TOUR.update(root=root, proc=proc, files=(stdout, stderr), started=time.monotonic())


def background_tour(timeout: float) -> tuple[Path, Result]:
    """The quick tour started at collection, once it is done (at most ``timeout`` s after it started): its
    folder and what it printed."""
    proc, root = _TOUR["proc"], _TOUR["root"]
    try:
        proc.wait(timeout=max(1.0, timeout - (time.monotonic() - _TOUR["started"])))
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError(f"the quick tour did not finish in {timeout:.0f} s") from None
    for f in _TOUR["files"]:
        f.close()
    read = (root / "stdout.txt").read_text(), (root / "stderr.txt").read_text()
    return root / "tour", Result(proc.returncode, *read)


def pytest_sessionfinish(session: pytest.Session) -> None:
    if _TOUR:
        if _TOUR["proc"].poll() is None:
            _TOUR["proc"].kill()
            _TOUR["proc"].wait()
        shutil.rmtree(_TOUR["root"], ignore_errors=True)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """How many fuzzed values were tried, and what became of them (tests/test_fuzz.py)."""
    fuzz = sys.modules.get("test_fuzz")
    tally = getattr(fuzz, "TALLY", None)
    if tally:
        total = sum(tally.values())
        terminalreporter.write_line(
            f"fuzz: {total:,} values tried: {tally['refused']:,} refused on one line (exit 2), "
            f"{tally['started']:,} accepted and started, {tally['done']:,} done (exit 0), {tally['failed']:,} failed"
        )
    kills = getattr(sys.modules.get("test_kill"), "TALLY", None)
    if kills:
        parts = ", ".join(f"{n} {what}" for what, n in sorted(kills.items()))
        terminalreporter.write_line(f"kill: {sum(kills.values())} runs killed and resumed: {parts}")


def _sandbox_missing() -> str:
    from descentlab.exercises import jail

    return jail.unavailable()


# Grading under bubblewrap needs bwrap and user namespaces: scripts/setup.sh installs bwrap, so the suite runs
# these tests wherever it set up; a machine that forbids user namespaces skips them, saying why.
needs_sandbox = pytest.mark.skipif(bool(_sandbox_missing()), reason=f"no grading sandbox here: {_sandbox_missing()}")
