"""The command line, the top layer: ``descentlab GROUP COMMAND ...``.

:mod:`~descentlab.cli.main` builds the parser and runs a command; :mod:`~descentlab.cli.builtin` holds the
commands that are not experiments (``runs list``, ``runs compare``, ``data check``, ``report``) and the
list of every command; :mod:`~descentlab.cli.classroom` the ``exercise`` commands;
:mod:`~descentlab.cli.tour` ``descentlab tour``; :mod:`~descentlab.cli.hpo` ``descentlab hpo``;
:mod:`~descentlab.cli.flags` the flags derived from the settings dataclasses. What a command declares
about itself is :mod:`descentlab.command`, below the experiments, which declare themselves with it; the
experiments are :mod:`descentlab.experiments`, laid out like the command line. Nothing below this package
imports it (an import-linter contract).

Importing this package imports nothing else, so ``python -m descentlab.cli.main`` and the entry point
``descentlab`` load only what the command asked for needs.
"""
