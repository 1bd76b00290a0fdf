"""The package's layers: the import-linter contracts of pyproject.toml, no import hidden in a function to dodge
a cycle, and no side effect of importing any module on the process environment."""

from __future__ import annotations

import ast
import fnmatch
import importlib
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from conftest import REPO

from descentlab.experiments import DECLARATIONS

PACKAGE = REPO / "descentlab"


@pytest.mark.e2e
def test_import_linter_contracts_are_kept() -> None:
    """Layers (cli > commands > tour, classroom > lab book, searches > experiments > training > command,
    exercises > report > runs > library > flags > config > errors), the library never importing runs, report,
    training or experiments, the exercises only the library, the report knowing no experiment, no command group
    of experiments importing another, no experiment module importing another (a group's common module aside),
    and no cycle between sibling modules or packages."""
    result = subprocess.run([Path(sys.executable).parent / "lint-imports", "--no-cache"], cwd=REPO,
                            capture_output=True, text=True, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 7 kept, 0 broken." in result.stdout


def test_every_command_is_declared_in_the_module_named_after_it() -> None:
    """``descentlab GROUP COMMAND`` is declared in ``descentlab/experiments/GROUP/COMMAND.py`` (a dash becomes
    an underscore), so that its code is found by its path; and the independence contract of pyproject.toml
    covers every one of those modules (a pattern, so that a new command's module cannot be left out)."""
    contracts = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    patterns = [m for c in contracts if c["type"] == "independence" for m in c["modules"]]
    for declaration in DECLARATIONS:
        group, command = declaration.command.split(" ", 1)
        module = f"descentlab.experiments.{group}.{command.replace('-', '_')}"
        path = REPO / (module.replace(".", "/") + ".py")
        assert path.is_file(), f"{declaration.command}: no {path.relative_to(REPO)}"
        built_here = [t.id for node in ast.parse(path.read_text()).body if isinstance(node, ast.Assign)
                      and isinstance(node.value, ast.Call) and getattr(node.value.func, "id", "") in ("Experiment", "Command")
                      for t in node.targets if isinstance(t, ast.Name)]  # fmt: skip
        module_vars = vars(importlib.import_module(module))
        assert any(module_vars[name] is declaration for name in built_here), (
            f"{declaration.command} is not built in {path}"
        )
        # import-linter's * stands for one name between dots
        assert any(fnmatch.fnmatchcase(module, p) and module.count(".") == p.count(".") for p in patterns), module


# The imports of descentlab's own that wait inside a function, each with its reason.
DEFERRED = {
    "descentlab/cli/main.py descentlab.cli.builtin": "every experiment is imported only for the commands that need it, "
    "so that `descentlab exercise check` starts in the time torch takes (within 5 s)",
}


def test_no_descentlab_import_inside_a_function() -> None:
    """Imports of descentlab's own modules sit at the top of each module, where import-linter and a reader see
    them (third-party imports that are slow and rarely needed may wait inside a function), except the ones of
    ``DEFERRED``, each with its reason."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for inner in ast.walk(node):
                names = []
                if isinstance(inner, ast.Import):
                    names = [a.name for a in inner.names]
                elif isinstance(inner, ast.ImportFrom) and inner.level == 0 and inner.module:
                    names = [inner.module]
                found += [
                    f"{path.relative_to(REPO)}:{inner.lineno} {n}" for n in names if n.split(".")[0] == "descentlab"
                ]
    assert not [f for f in found if f.split(":")[0] + " " + f.split()[-1] not in DEFERRED], found
    assert {f.split(":")[0] + " " + f.split()[-1] for f in found} == set(DEFERRED)  # none listed in vain


@pytest.mark.e2e
def test_importing_any_module_leaves_the_environment_alone() -> None:
    """``import descentlab.X`` for every module: os.environ is the same before and after (Gymnasium's
    renderers are told to draw off-screen only when an episode is rendered). The third-party packages are
    imported first: what they do on import (Gymnasium sets PYGAME_HIDE_SUPPORT_PROMPT) is theirs."""
    modules = sorted(
        ".".join(p.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__") for p in PACKAGE.rglob("*.py")
    )
    script = (
        "import importlib, json, os, sys\n"
        "import gymnasium, matplotlib, optuna, torch, yaml\n"
        "before = dict(os.environ)\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "after = dict(os.environ)\n"
        "print(json.dumps(sorted(set(after.items()) ^ set(before.items()))))\n"
    )
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("SDL_")}
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=300,
                            env=env)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
    assert len(modules) > 60
