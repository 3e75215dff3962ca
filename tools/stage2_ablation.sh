#!/usr/bin/env bash
# Stage-2 ablation on a GPU machine: the default recipe's stage 1 once (vision side taken from the
# shipped model with --init-from), then one stage-2 run per variant, in parallel, from that checkpoint.
# Each variant is the default stage 2 with the StageConfig fields given in VARIANT_<name> (JSON).
# Models land in $R/m_<name> (a cut-short run is exported from its last checkpoint); evaluate them with
#   fo1-ros eval --model $R/m_<name> --scenes 100 --proposals default --no-ss
# S1_ARGS / S2_ARGS: more `fo1-ros train` arguments for stage 1 / the variants (e.g. a quick
# check: S1_ARGS="--frames 20 --stage1-steps 2 --batch-size 2" S2_ARGS="--frames 20 --stage2-steps 2 --batch-size 2").
# Example (what benchmarks/results/history/h200_stage2_pointer_ablation/ holds):
#   VARIANTS="base ptr" VARIANT_base='{"pointer_loss": 0.0}' VARIANT_ptr='{"pointer_loss": 1.0}' \
#     bash tools/stage2_ablation.sh
set -o pipefail
R=${R:-runs/ablation}; OUT=${OUT:-$R/logs}; VARIANTS=${VARIANTS:-"base ptr"}
S1_TIMEOUT=${S1_TIMEOUT:-1800}; S2_TIMEOUT=${S2_TIMEOUT:-3600}; export PY=${PY:-python3}  # exported: the timed runs are child bash processes
mkdir -p $R/s1/tokenizer $OUT && cp fo1_ros/assets/default_model/tokenizer*.json $R/s1/tokenizer/
T0=$(date +%s); el() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/times.txt; }
fo1train() { $PY -m fo1_ros.cli -v train "$@"; }
# stage 1 only: the default config with a stage 2 of 0 steps
$PY - "$R/s1.json" <<'PY'
import json, sys
from fo1_ros.train.config import TrainConfig
d = TrainConfig().to_dict()
json.dump({"checkpoint_every": 100, "stage2": {**d["stage2"], "steps": 0}}, open(sys.argv[1], "w"))
PY
timeout $S1_TIMEOUT bash -c "$(declare -f fo1train); fo1train --run-dir $R/s1 --pool-dir $R/pool --init-from fo1_ros/assets/default_model \
  --config $R/s1.json --out $R/m_s1 --pool-workers ${POOL_WORKERS:-15} --data-workers ${S1_WORKERS:-12} $S1_ARGS" > $OUT/s1.log 2>&1
el "stage 1 rc $?"
$PY - "$R/s1/checkpoint/trainer_state.json" <<'PY' || { el "stage 1 incomplete"; exit 1; }
import json, sys
s = json.load(open(sys.argv[1])); assert s["stage"] == 3, s["stage"]
s["stage"], s["step"] = 2, 0; json.dump(s, open(sys.argv[1], "w"))
PY
for v in $VARIANTS; do
  rm -rf $R/$v && cp -r $R/s1 $R/$v
  var="VARIANT_$v"; spec=${!var}; [ -n "$spec" ] || spec='{}'
  $PY - "$R/$v.json" "$spec" <<'PY'
import json, sys
from fo1_ros.train.config import TrainConfig
d = TrainConfig().to_dict()
json.dump({"checkpoint_every": 100, "threads": 4, "stage2": {**d["stage2"], **json.loads(sys.argv[2])}}, open(sys.argv[1], "w"))
PY
  (timeout $S2_TIMEOUT bash -c "$(declare -f fo1train); fo1train --run-dir $R/$v --pool-dir $R/pool --config $R/$v.json --out $R/m_$v \
    --data-workers ${S2_WORKERS:-4} $S2_ARGS" > $OUT/$v.log 2>&1; el "$v rc $?") &
done
wait
for v in $VARIANTS; do
  [ -f $R/m_$v/training_info.json ] || { fo1train --run-dir $R/$v --out $R/m_$v --export-checkpoint > /dev/null &&
    el "$v: cut short, exported its last checkpoint (training_info.json says where it stopped)"; }
done
el done
