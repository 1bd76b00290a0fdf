#!/usr/bin/env bash
# A separate environment for the benchmarks that compare against other libraries: descentlab plus
# Stable-Baselines3 (benchmarks/rl.py). These libraries are never dependencies of descentlab itself.
#   bash benchmarks/setup_bench_env.sh      -> .venv-bench/
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
[ -x .venv-bench/bin/python ] || "$python" -m venv .venv-bench
pip=(.venv-bench/bin/python -m pip install --quiet --disable-pip-version-check)
"${pip[@]}" torch==2.13.0  # first, pinned: the CPU wheel
"${pip[@]}" -e . "stable-baselines3==2.9.2"
echo "benchmark environment ready: .venv-bench ($(.venv-bench/bin/python -c 'import stable_baselines3 as s; print("stable-baselines3", s.__version__)'))"
