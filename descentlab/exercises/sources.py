"""A submission's code: a ``.py`` file, or the cells of a Jupyter notebook that define the exercises.

A notebook is not run as a whole (its other cells may train for an hour): :func:`read_submission` keeps, of
every code cell, only the statements that define (imports, functions whose decorators, defaults and
annotations compute nothing, classes made only of such functions and constants, constants), in their order
and on their lines, without IPython's ``%magic`` and ``!shell`` lines: a training loop, a call, a class body
that computes, a default argument that calls, or the other statements of the cell that defines the function
never run. Everything here reads the code; nothing runs it (that happens in
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


def _quiet_signature(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """A function whose definition computes nothing: no decorator, and defaults and annotations that are
    literals or names (``def f(w, lr=0.1, dtype=torch.float32)``), since those run when it is defined."""
    a = node.args
    exprs = [*a.defaults, *[d for d in a.kw_defaults if d is not None], node.returns]
    exprs += [x.annotation for x in (*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg) if x is not None]
    return not node.decorator_list and all(e is None or _quiet(e) for e in exprs)


def _safe(node: ast.stmt) -> bool:
    """A statement that only defines: an import, a function (:func:`_quiet_signature`), a class whose body is
    such functions and constants, a constant, a docstring. Running it computes nothing else."""
    if isinstance(node, ast.Import | ast.ImportFrom):
        return True
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        return _quiet_signature(node)
    if isinstance(node, ast.ClassDef):
        plain_class = not node.decorator_list and not node.keywords and all(_quiet(b) for b in node.bases)
        return plain_class and all((_safe(n) and not isinstance(n, ast.Import | ast.ImportFrom)) or isinstance(n, ast.Pass)
                                   for n in node.body)  # fmt: skip
    if isinstance(node, ast.Assign):
        return _quiet(node.value) and all(isinstance(t, ast.Name) for t in node.targets)
    if isinstance(node, ast.AnnAssign):
        return (
            isinstance(node.target, ast.Name) and _quiet(node.annotation) and (node.value is None or _quiet(node.value))
        )
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)


def _only_safe(block: Block, tree: ast.Module) -> tuple[Block, ast.Module]:
    """The cell with every statement that is not :func:`_safe` blanked out (a training loop, a call, a plot;
    the other statements of the cell that defines the function), its lines where they were."""
    lines = block.source.splitlines()
    dropped: set[int] = set()
    for node in tree.body:
        if not _safe(node):
            dropped.update(range(node.lineno - 1, (node.end_lineno or node.lineno)))
    if not dropped:
        return block, tree
    kept = "\n".join("" if i in dropped else line for i, line in enumerate(lines)) + "\n"
    try:
        return Block(block.filename, kept), ast.parse(kept, block.filename)
    except SyntaxError:  # a statement that shared a line with a dropped one: keep nothing of the cell
        return Block(block.filename, "\n"), ast.parse("")


def _cells(path: Path, text: str) -> list[Block]:
    try:
        notebook = json.loads(text)
        cells = notebook["cells"]
        if not isinstance(cells, list):
            raise TypeError
    except (ValueError, KeyError, TypeError, RecursionError) as e:  # JSONDecodeError is a ValueError
        raise UserError(f"{shown(path)}: not a Jupyter notebook (no list of cells: {type(e).__name__})") from None
    blocks = []
    for i, cell in enumerate(cells, 1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        if isinstance(source, list) and all(isinstance(line, str) for line in source):
            source = "".join(source)
        elif not isinstance(source, str):
            raise UserError(f"{shown(path)}: cell {i}'s source is not text (a string or a list of strings)")
        lines = ["" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()]
        blocks.append(Block(f"{path.name}, cell {i}", "\n".join(lines) + "\n"))
    return blocks


def read_submission(path: str | Path, wanted: tuple[str, ...] = ()) -> Submission:
    """The code of the ``.py`` file or notebook at ``path``; from a notebook, the statements of its code cells
    that only define (see the module's docstring). ``wanted``: the exercises looked for, which decides
    whether a notebook cell that does not parse is reported."""
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
        except (SyntaxError, ValueError, RecursionError, MemoryError) as e:  # ValueError: a null byte
            if path.suffix == ".py" or any(f"def {n}(" in block.source for n in wanted) or not wanted:
                line = getattr(e, "lineno", None)
                why = getattr(e, "msg", None) or type(e).__name__
                syntax_error = syntax_error or f"{block.filename}, line {line}: {why}"
                kept.append(block)
            continue
        if path.suffix != ".py":  # a notebook runs only what defines
            block, tree = _only_safe(block, tree)
        names = _top_level_names(tree)
        keep = path.suffix == ".py" or bool(tree.body)
        if keep:
            kept.append(block)
            defines += names
            imports_descentlab = imports_descentlab or _imports_descentlab(tree)
    return Submission(path, tuple(kept), tuple(dict.fromkeys(defines)), syntax_error, imports_descentlab)
