#!/usr/bin/env bash
set -u
python -m pip install -q --no-deps .whl/gymnasium-1.4.0-py3-none-any.whl .whl/farama_notifications-0.0.6-py3-none-any.whl .whl/cloudpickle-3.1.3-py3-none-any.whl 2>&1 | grep -v "Running pip" | tail -1
export PYTHONPATH=$PWD OMP_NUM_THREADS=1
k=0
go() { k=$((k+1)); timeout 300 python .whl/sweep_cp.py "$@" > $OUT/s$k.log 2>&1 & }
for seeds in 0,1,2 3,4; do
  go dqn '{}' $seeds
  go dqn '{"double":true}' $seeds
  go dqn '{"hidden":"128,128"}' $seeds
  go dqn '{"hidden":"128,128","double":true}' $seeds
  go dqn '{"gradient_steps":64,"batch_size":128}' $seeds
  go dqn '{"hidden":"128,128","gradient_steps":64,"batch_size":128,"double":true}' $seeds
  go ppo '{}' $seeds
  go ppo '{"epochs":10}' $seeds
done
wait
cat $OUT/s*.log | grep -v -i warn
