#!/usr/bin/env bash
# GridRoute DQN sweep on the device machine's CPU cores: one process per config, one thread each.
set -u
python -m pip install -q --no-deps .whl/gymnasium-1.4.0-py3-none-any.whl .whl/farama_notifications-0.0.6-py3-none-any.whl .whl/cloudpickle-3.1.3-py3-none-any.whl 2>&1 | tail -1
export PYTHONPATH=$PWD
python -c "import gymnasium, torch; print('gym', gymnasium.__version__, 'torch', torch.__version__)"
nproc
G="rl train --env descentlab/GridRoute-v0 --algo dqn --total-steps 400000 --max-seconds 330 --eval-every 10000 --eval-episodes 50 --final-episodes 100 --device cpu --out $OUT/runs"
i=0
run() { i=$((i+1)); OMP_NUM_THREADS=1 timeout 420 python -m descentlab.cli $G --name "c$i" "$@" > $OUT/c$i.log 2>&1 & echo "c$i: $*" >> $OUT/configs.txt; }
run
run --hidden 128,128 --batch-size 64
run --lr 0.0005
run --target-update 200
run --target-update 2000
run --gamma 0.99
run --reward both
run --train-freq 4 --batch-size 128
run --eps-fraction 0.5
run --hidden 512,512
run --no-double
run --lr 0.002 --target-update 1000
OMP_NUM_THREADS=1 timeout 420 python -m descentlab.cli rl train --env descentlab/GridRoute-v0 --algo ppo --total-steps 3000000 --max-seconds 330 --eval-every 50000 --eval-episodes 50 --device cpu --out $OUT/runs --name ppo > $OUT/ppo.log 2>&1 &
OMP_NUM_THREADS=1 timeout 420 python -m descentlab.cli rl train --env descentlab/GridRoute-v0 --algo qlearning --total-steps 3000000 --max-seconds 330 --eval-every 100000 --eval-episodes 50 --device cpu --out $OUT/runs --name qrandom > $OUT/q.log 2>&1 &
wait
cat $OUT/c1.log | tail -3
for d in $OUT/runs/rl-train/*; do echo "== $(basename $d)"; python - "$d" <<'PY'
import json, sys
for l in open(sys.argv[1] + "/metrics.jsonl"):
    r = json.loads(l)
    if "eval/mean_effectiveness" in r:
        print(r["step"], round(r["eval/mean_effectiveness"], 3), end="; ")
print()
try:
    print(json.load(open(sys.argv[1] + "/summary.json")).get("metrics"))
except Exception as e:
    print(e)
PY
done
