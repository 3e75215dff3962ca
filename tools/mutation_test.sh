#!/usr/bin/env bash
# Mutation testing of the core modules with mutmut (https://github.com/boxed/mutmut): every small
# change mutmut makes to the code (a flipped comparison, an off-by-one, a dropped argument) should
# make some test fail; a change no test notices is a "surviving mutant" and points at a test gap.
# Slow (tens of minutes on 2 cores), so not part of CI.
#
#   tools/mutation_test.sh [OUT_DIR]        (default OUT_DIR: runs/mutation)
#
# Environment:
#   FO1_VENV      the virtual environment with fo1_ros's test set-up (default: <repo>/.venv);
#                 mutmut is installed into it when missing
#   MUTATE        space-separated globs of the modules to mutate (default: the core below)
#   TESTS         space-separated test paths mutmut may pick tests from (default: below)
#   CHILDREN      parallel mutant runs (default: the number of CPUs)
#
# It works on a throwaway copy of the tracked files (uncommitted changes included) in
# OUT_DIR/tree, so the checkout is never touched. Output: OUT_DIR/summary.txt (killed /
# survived / timeouts / no tests per module), OUT_DIR/survivors.txt (one mutant a line; see one
# with `cd OUT_DIR/tree && $FO1_VENV/bin/mutmut show NAME`), OUT_DIR/stats.json.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${FO1_VENV:-$ROOT/.venv}"
OUT="$(mkdir -p "${1:-$ROOT/runs/mutation}" && cd "${1:-$ROOT/runs/mutation}" && pwd)"
MUTATE="${MUTATE:-fo1_ros/tasks/*.py fo1_ros/model/boxes.py fo1_ros/model/roi_align.py fo1_ros/geometry/*.py fo1_ros/node/sync.py fo1_ros/node/decode.py fo1_ros/eval/metrics.py fo1_ros/eval/run.py}"
# Unit-level tests only: a test that loads the shipped model and runs scenes costs ~30 s per
# mutant (6000 mutants), so test_engine.py and the evaluation-pipeline tests are left out; what
# only they would kill shows here as surviving or "no tests".
TESTS="${TESTS:-test/tasks test/model/test_boxes.py test/model/test_roi_align.py test/geometry test/node/test_sync.py test/node/test_decode.py test/eval/test_metrics.py test/eval/test_scoring.py}"
CHILDREN="${CHILDREN:-$(nproc)}"

"$VENV/bin/python" -c "import mutmut" 2>/dev/null || "$VENV/bin/python" -m pip install -q "mutmut>=3.8,<4"

TREE="$OUT/tree"
rm -rf "$TREE" && mkdir -p "$TREE"
(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$TREE" 2>/dev/null || true)

# test paths of TESTS that this checkout has (an older checkout may lack some)
present=""; for t in $TESTS; do [[ -e "$TREE/$t" ]] && present+="$t "; done; TESTS="$present"

toml_list() { local out="" x; for x in "$@"; do out+="\"$x\", "; done; echo "[${out%, }]"; }
# shellcheck disable=SC2086  # the globs and paths are split on purpose
{
  echo
  echo "[tool.mutmut]"
  echo "source_paths = [\"fo1_ros\"]"
  # files the tests read besides the package (mutmut runs them in a copy of its own)
  echo "also_copy = [\"config\", \"msg\", \"srv\", \"launch\", \"README.md\", \"package.xml\", \"setup.py\", \"CMakeLists.txt\"]"
  echo "only_mutate = $(toml_list $MUTATE)"
  echo "pytest_add_cli_args_test_selection = $(toml_list $TESTS)"
  echo "pytest_add_cli_args = [\"-p\", \"no:cacheprovider\", \"-q\", \"-x\"]"
  echo "timeout_multiplier = 5.0  # a mutant 5x slower than its tests is an endless loop"
} >> "$TREE/pyproject.toml"

cd "$TREE"
export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
# mutmut forks a process per mutant: torch thread pools do not survive a fork (children hang)
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
start=$(date +%s)
echo "fo1_ros mutation test: mutating $MUTATE"
echo "  tests from $TESTS; $CHILDREN at a time; copy in $TREE"
"$VENV/bin/mutmut" run --max-children "$CHILDREN" > "$OUT/run.log" 2>&1 || true
"$VENV/bin/mutmut" export-cicd-stats > /dev/null 2>&1 || true
cp mutants/mutmut-cicd-stats.json "$OUT/stats.json" 2>/dev/null || true
"$VENV/bin/mutmut" results > "$OUT/survivors.txt" 2>&1 || true

"$VENV/bin/python" - "$OUT" "$(( $(date +%s) - start ))" <<'EOF'
import collections, json, pathlib, sys
from mutmut.stats import status_by_exit_code  # mutmut's own reading of each mutant's exit code
out, seconds = pathlib.Path(sys.argv[1]), int(sys.argv[2])
status = collections.defaultdict(collections.Counter)
for meta in sorted(pathlib.Path("mutants").rglob("*.py.meta")):
    module = str(meta.relative_to("mutants")).removesuffix(".meta")
    for code in json.loads(meta.read_text()).get("exit_code_by_key", {}).values():
        status[module][status_by_exit_code[code]] += 1
kinds = ["killed", "survived", "no tests", "timeout", "suspicious", "not checked"]
lines = [f"{'module':<34}" + "".join(f"{k:>12}" for k in kinds)]
total = collections.Counter()
for module in sorted(status):
    total.update(status[module])
    lines.append(f"{module:<34}" + "".join(f"{status[module][k]:>12}" for k in kinds))
lines.append(f"{'all':<34}" + "".join(f"{total[k]:>12}" for k in kinds))
lines.append(f"{sum(total.values())} mutants in {seconds} s")
(out / "summary.txt").write_text("\n".join(lines) + "\n")
print("\n".join(lines))
EOF
echo "survivors: $OUT/survivors.txt"
