"""A submission's code: a ``.py`` file, or the cells of a Jupyter notebook that define the exercises.

A notebook is not run as a whole (its other cells may train for an hour): :func:`read_submission` keeps the
code cells that define an exercise's function and the cells made only of imports, definitions and constants
(the helpers a function may need), in their order, without IPython's ``%magic`` and ``!shell`` lines. Everything here reads the code; nothing runs it (that happens in
:mod:`descentlab.exercises.sandbox`, in another process).
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from pathlib import Path

from descentlab.errors import UserError, shown

MAX_BYTES = 5_000_000  # a submission larger than this is not a student's function
SUFFIXES = (".py", ".ipynb")


@dataclass(frozen=True)
class Block:
    """Code to run, with the file name its errors should name (``nb.ipynb, cell 3``)."""

    filename: str
    source: str


@dataclass(frozen=True)
class Submission:
    path: Path
    blocks: tuple[Block, ...]
    defines: tuple[str, ...]  # the names defined at top level (functions, assignments), in order
    syntax_error: str = ""  # the first block that does not parse, and why
    imports_descentlab: bool = False  # it imports descentlab: the reference itself

    def defined(self, names: tuple[str, ...]) -> list[str]:
        """Which of ``names`` this submission defines, in the order of ``names``."""
        return [n for n in names if n in self.defines]


def _top_level_names(tree: ast.Module) -> list[str]:
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.append(node.name)
        elif isinstance(node, ast.Assign):
            names += [t.id for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.AnnAssign | ast.AugAssign) and isinstance(node.target, ast.Name):
            names.append(node.target.id)
        elif isinstance(node, ast.ImportFrom | ast.Import):
            names += [(a.asname or a.name).split(".")[0] for a in node.names]
    return names


def _imports_descentlab(tree: ast.Module) -> bool:
    """Whether the code imports descentlab (``import``, ``from``, or a call such as ``__import__("descentlab")``)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "descentlab" for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "descentlab":
            return True
        if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            first = node.args[0].value
            if isinstance(first, str) and first.split(".")[0] == "descentlab":
                return True
    return False


def _quiet(value: ast.expr | None) -> bool:
    """An expression that computes nothing worth fearing: a literal, a name, an attribute, or tuples of them."""
    if isinstance(value, ast.Tuple | ast.List):
        return all(_quiet(v) for v in value.elts)
    if isinstance(value, ast.UnaryOp | ast.BinOp):
        return all(_quiet(v) for v in ast.iter_child_nodes(value) if isinstance(v, ast.expr))
    return isinstance(value, ast.Constant | ast.Name | ast.Attribute)


def _definitions_only(tree: ast.Module) -> bool:
    """A cell that only imports, defines functions or classes, or assigns constants: safe to run, and
    perhaps needed by the exercise's function (a helper, ``EPS = 1e-8``). A cell with a call or a loop at
    its top level (training, plotting) is not run."""
    allowed = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    for node in tree.body:
        if isinstance(node, allowed):
            continue
        if isinstance(node, ast.Assign | ast.AnnAssign) and _quiet(node.value):
            continue
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue
        return False
    return bool(tree.body)


def _cells(path: Path, text: str) -> list[Block]:
    try:
        notebook = json.loads(text)
        cells = notebook["cells"]
        if not isinstance(cells, list):
            raise TypeError
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise UserError(f"{shown(path)}: not a Jupyter notebook (no list of cells: {type(e).__name__})") from None
    blocks = []
    for i, cell in enumerate(cells, 1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        lines = ["" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()]
        blocks.append(Block(f"{path.name}, cell {i}", "\n".join(lines) + "\n"))
    return blocks


def read_submission(path: str | Path, wanted: tuple[str, ...] = ()) -> Submission:
    """The code of the ``.py`` file or notebook at ``path``. From a notebook, the cells that define one of
    ``wanted`` (or any function, when ``wanted`` is empty) and the cells of imports, definitions and
    constants only."""
    path = Path(path)
    if path.suffix not in SUFFIXES:
        raise UserError(f"{shown(path)}: a submission is a .py file or a Jupyter notebook (.ipynb)")
    if not path.is_file():
        raise UserError(f"{shown(path)}: no such file" if not path.exists() else f"{shown(path)}: not a file")
    if path.stat().st_size > MAX_BYTES:
        raise UserError(f"{shown(path)}: {path.stat().st_size:,} bytes; a submission is at most {MAX_BYTES:,} bytes")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise UserError(f"{shown(path)}: not UTF-8 text (byte {e.start})") from None
    blocks = [Block(str(path), text)] if path.suffix == ".py" else _cells(path, text)
    kept: list[Block] = []
    defines: list[str] = []
    syntax_error = ""
    imports_descentlab = False
    for block in blocks:
        try:
            tree = ast.parse(block.source, block.filename)
        except SyntaxError as e:
            if path.suffix == ".py" or any(f"def {n}(" in block.source for n in wanted) or not wanted:
                syntax_error = syntax_error or f"{block.filename}, line {e.lineno}: {e.msg}"
                kept.append(block)
            continue
        names = _top_level_names(tree)
        functions = [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]
        keep = (
            path.suffix == ".py"
            or _definitions_only(tree)
            or any(n in functions for n in wanted)
            or (not wanted and functions)
        )
        if keep:
            kept.append(block)
            defines += names
            imports_descentlab = imports_descentlab or _imports_descentlab(tree)
    return Submission(path, tuple(kept), tuple(dict.fromkeys(defines)), syntax_error, imports_descentlab)
