#!/usr/bin/env bash
# run_test.sh — ctest's `keep` test: tools/studies/keep on a real (tiny)
# manifold sweep.
#
#   tests/keep/run_test.sh BUILD_DIR SOURCE_DIR
#
#  1. a two-seed attn_stack sweep on markers with trajectories and commutators,
#     and an SAE on one run
#  2. keep copies the finished runs without checkpoints/ and trajectory/, with
#     the SAE's tables; `sweep --collect` and `compare --report manifold` on the
#     kept folder print what they print on the sweep itself, and `modgrad plot`
#     draws the study's pictures from a kept run
#  3. an unfinished run is skipped and named; a kept run whose summary differs
#     is not overwritten (exit 1); bad arguments and another sweep's folder
#     exit 2 and copy nothing
# Any failure exits non-zero (ctest reports it). The folder is removed at the end.
set -euo pipefail

build=$(cd "$1" && pwd)
source=$(cd "$2" && pwd)
mg=$build/modgrad
keep=$source/tools/studies/keep
tmp=$(mktemp -d /tmp/mg_keep_XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"

fail() {
    echo "keep test FAILED: $*" >&2
    exit 1
}
step() { echo "== keep test: $*"; }

step "a two-seed sweep and an SAE"
cat >spec.json <<'EOF'
{"model": "attn_stack", "task": "markers", "layers": 1, "d-model": 16, "heads": 2, "batch": 32,
 "probe-batch": 64, "steps": 40, "eval-every": 10, "snapshot-every": 10, "commutator-every": 20,
 "basis-every": 20, "grid": {"seed": [0, 1]}}
EOF
"$mg" sweep spec.json --out src --jobs 1 --threads 1 >sweep.log
"$mg" sae src/seed=0 --steps 20 --pool-rows 128 --batch 32 >sae.log

step "keep the finished runs"
"$keep" src kept >keep.log || fail "keep exited $?: $(cat keep.log)"
grep -q "kept 2 runs" keep.log || fail "$(cat keep.log)"
for run in seed=0 seed=1; do
    for f in config.json summary.json metrics.csv groups.csv geometry.csv fourier.csv \
        trajectory.csv explained.csv commutator.csv attention.csv ablation.csv; do
        cmp -s "src/$run/$f" "kept/$run/$f" || fail "kept/$run/$f is not the run's"
    done
    [[ ! -e kept/$run/checkpoints && ! -e kept/$run/trajectory ]] ||
        fail "kept/$run has checkpoints or the trajectory"
    [[ ! -e kept/$run/loss.csv && ! -e kept/$run/probes.csv ]] ||
        fail "kept/$run has the per-step loss or the probes"
done
cmp -s src/sweep.json kept/sweep.json || fail "kept/sweep.json is not the sweep's"
for f in summary.json latents.csv; do
    cmp -s "src/seed=0/sae/step_000040/$f" "kept/seed=0/sae/step_000040/$f" ||
        fail "the SAE's $f was not kept"
done
[[ ! -e kept/seed=0/sae/step_000040/sae.safetensors ]] || fail "the SAE's weights were kept"

step "the reports on the kept folder are the sweep's"
"$mg" sweep --collect src >/dev/null
"$mg" sweep --collect kept >/dev/null
"$mg" compare src --report manifold | tail -n +2 >src.txt
"$mg" compare kept --report manifold | tail -n +2 >kept.txt
grep -q "r90, whole vector" src.txt || fail "the manifold report has no r90 row: $(cat src.txt)"
cmp -s src.txt kept.txt || fail "the reports differ: $(diff src.txt kept.txt)"
"$mg" sweep --status kept | grep -q "2 runs: 2 completed" || fail "$("$mg" sweep --status kept)"

step "the study's pictures are drawn from a kept run"
"$mg" plot kept/seed=0 >plot.log 2>&1 || fail "plot exited $?: $(cat plot.log)"
for pic in manifold commutator defect attention ablation sae_step_000040; do
    [[ -s kept/seed=0/plots/$pic.png ]] || fail "no $pic picture from the kept run: $(cat plot.log)"
done

step "an unfinished run is skipped"
mv src/seed=1/summary.json src/seed=1/summary.json.away
"$keep" src partial >keep.log || fail "keep exited $?"
grep -q "skipped seed=1: not finished" keep.log || fail "$(cat keep.log)"
grep -q "kept 1 runs" keep.log || fail "$(cat keep.log)"
[[ ! -e partial/seed=1 ]] || fail "the unfinished run was copied"
mv src/seed=1/summary.json.away src/seed=1/summary.json

step "a different kept summary is not overwritten"
echo " " >>kept/seed=0/summary.json
cp kept/seed=0/summary.json before.json
status=0
"$keep" src kept >keep.log 2>&1 || status=$?
((status == 1)) || fail "exit $status, not 1: $(cat keep.log)"
grep -q "refused seed=0" keep.log || fail "$(cat keep.log)"
cmp -s before.json kept/seed=0/summary.json || fail "the kept summary was overwritten"

step "bad arguments exit 2 and copy nothing"
status=0
"$keep" src >/dev/null 2>&1 || status=$?
((status == 2)) || fail "one argument: exit $status"
status=0
"$keep" spec.json nothere >/dev/null 2>&1 || status=$?
((status == 2)) && [[ ! -e nothere ]] || fail "not a sweep: exit $status"
echo '{"model": "mlp", "grid": {"seed": [0]}}' >kept/sweep.json
status=0
"$keep" src kept >/dev/null 2>&1 || status=$?
((status == 2)) || fail "another sweep's folder: exit $status"
cmp -s before.json kept/seed=0/summary.json || fail "another sweep's folder was written"

echo "== keep test: passed"
