#!/usr/bin/env bash
# Separate environments for the benchmarks that compare against other libraries, never dependencies of
# descentlab itself: .venv-bench/ holds descentlab, Stable-Baselines3 (benchmarks/rl.py) and snnTorch
# (benchmarks/neuro.py); .venv-brian/ holds Brian2, which needs numpy < 2.4 (benchmarks/neuro.py --brian2).
#   bash benchmarks/setup_bench_env.sh
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
[ -x .venv-bench/bin/python ] || "$python" -m venv .venv-bench
pip=(.venv-bench/bin/python -m pip install --quiet --disable-pip-version-check)
"${pip[@]}" torch==2.13.0  # first, pinned: the CPU wheel
"${pip[@]}" -e . "stable-baselines3==2.9.2"
"${pip[@]}" --no-deps "snntorch==1.0.0"  # its own dependencies are all here already
[ -x .venv-brian/bin/python ] || "$python" -m venv .venv-brian
.venv-brian/bin/python -m pip install --quiet --disable-pip-version-check "numpy<2.4" "brian2==2.9.0" cython
echo "benchmark environment ready: .venv-bench ($(.venv-bench/bin/python -c 'import stable_baselines3 as s; print("stable-baselines3", s.__version__)'))"
