#!/usr/bin/env bash
# Stage 2 again from a finished model, on scenes it has not seen, inside a fixed wall-clock budget
# (written for a GPU lease: one command, no second chance). Steps:
#   1. render the frame pool (seeds FIRST_SEED .. FIRST_SEED+FRAMES-1) with POOL_WORKERS processes;
#   2. a PROBE_STEPS-step probe run measures frames/s and the start-up cost on this machine;
#   3. the real run gets as many stage-2 steps as fit in what is left of BUDGET_S, so its learning
#      rate schedule ends properly (a run cut by the safety timeout is exported from its last
#      checkpoint instead, and says so);
#   4. the model and logs are copied to $DEST (default $OUT, the device tool's output folder).
# Environment (defaults in brackets): SRC model folder or checkpoint [fo1_ros/assets/default_model],
# FIRST_SEED [12000], FRAMES [8000], BUDGET_S [540], BATCH [16], LR [4e-4], WARMUP [30],
# POOL_WORKERS [15], DATA_WORKERS [14], PROBE_STEPS [30], DEVICE [auto], R [/tmp/cont], PY [python3].
# A quick CPU check of the script itself:
#   FRAMES=24 BATCH=2 POOL_WORKERS=2 DATA_WORKERS=1 PROBE_STEPS=4 BUDGET_S=200 DEVICE=cpu DEST=runs/cont_check \
#     bash tools/stage2_continuation.sh
set -o pipefail
SRC=${SRC:-fo1_ros/assets/default_model}; FIRST_SEED=${FIRST_SEED:-12000}; FRAMES=${FRAMES:-8000}
BUDGET_S=${BUDGET_S:-540}; BATCH=${BATCH:-16}; LR=${LR:-4e-4}; WARMUP=${WARMUP:-30}
POOL_WORKERS=${POOL_WORKERS:-15}; DATA_WORKERS=${DATA_WORKERS:-14}; PROBE_STEPS=${PROBE_STEPS:-30}
DEVICE=${DEVICE:-auto}; R=${R:-/tmp/cont}; export PY=${PY:-python3};  # exported: the timed run is a child bash
DEST=${DEST:-${OUT:?set DEST or OUT}}
T0=$(date +%s); el() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $DEST/times.txt; }
mkdir -p $R $DEST
fo1train() { $PY -m fo1_ros.cli -v train "$@"; }
cfg() {  # cfg FILE STEPS LOG_EVERY: the TrainConfig overrides of a stage-2 continuation
  $PY - "$@" <<PY
import json, sys
from fo1_ros.train.config import TrainConfig
d = TrainConfig().to_dict()
s2 = {**d["stage2"], "steps": int(sys.argv[2]), "lr": $LR, "warmup": min($WARMUP, max(1, int(sys.argv[2]) // 4))}
json.dump({"n_frames": $FRAMES, "first_seed": $FIRST_SEED, "batch_size": $BATCH, "threads": 2,
           "device": "$DEVICE", "pool_workers": $POOL_WORKERS, "data_workers": $DATA_WORKERS,
           "checkpoint_every": 50, "log_every": int(sys.argv[3]), "stage0": {**d["stage0"], "heldout_frames": 0},
           "stage2": s2}, open(sys.argv[1], "w"))
PY
}
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tee -a $DEST/times.txt
$PY -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__, 'cuda', torch.cuda.is_available())" | tee -a $DEST/times.txt

# 1. the pool, exactly as `train` asks for it (so the runs below reuse it)
cfg $R/probe.json $PROBE_STEPS 5 || exit 1
$PY - $R/probe.json $R/pool <<'PY' 2>&1 | tr '\r' '\n' | tail -3
import json, sys
from fo1_ros.train.pool import build_pool
from fo1_ros.train.config import TrainConfig
c = TrainConfig(**json.load(open(sys.argv[1])))
build_pool(sys.argv[2], c.training_seeds(), c.scene, workers=c.pool_workers, use_proposer=c.use_proposer)
PY
el "pool of $FRAMES frames rc $?"

# 2. probe: throughput and start-up cost
t=$(date +%s)
fo1train --run-dir $R/probe --pool-dir $R/pool --config $R/probe.json --continue-from $SRC --out $R/m_probe > $R/probe.log 2>&1
rc=$?; probe_s=$(( $(date +%s) - t ))
rate=$(tr '\r' '\n' < $R/probe.log | grep -o '[0-9.]* frames/s' | awk '{v[NR] = $1} END {for (i = (NR > 1 ? 2 : 1); i <= NR; i++) {s += v[i]; n++} if (n) print s / n}')
el "probe rc $rc: $PROBE_STEPS steps in $probe_s s, ${rate:-?} frames/s after the first interval"
[ $rc -eq 0 ] && [ -n "$rate" ] || { tail -30 $R/probe.log; cp $R/probe.log $DEST/; exit 1; }

# 3. the run: steps that fit what is left (start-up as in the probe, 60 s for the export and exit)
left=$(( BUDGET_S - ($(date +%s) - T0) ))
steps=$($PY -c "r=$rate; p=$probe_s; b=$BATCH; n=$PROBE_STEPS; start=max(0.0, p - n * b / r); print(max(0, int(($left - start - 60) * r / b)))")
el "run: $steps steps of $BATCH frames ($left s left)"
cfg $R/run.json $steps 25
timeout $(( left - 10 )) bash -c "$(declare -f fo1train); fo1train --run-dir $R/run --pool-dir $R/pool --config $R/run.json \
  --continue-from $SRC --out $R/m_run" > $R/run.log 2>&1
el "run rc $?"
# a model folder with training_info.json is complete even when the timeout caught the interpreter's exit
[ -f $R/m_run/training_info.json ] || { fo1train --run-dir $R/run --out $R/m_run --export-checkpoint > /dev/null &&
  el "cut short: exported the last checkpoint (training_info.json says where it stopped)"; }
# 4. results
cp $R/m_run/model.safetensors $R/m_run/config.json $R/m_run/tokenizer*.json $R/m_run/training_info.json $DEST/ 2>/dev/null
cat $R/probe.log $R/run.log | tr '\r' '\n' | grep -v '^\s*$' > $DEST/train.log
el done
