#!/usr/bin/env bash
# Issue 22's training-speed measurement on a GPU machine, in one call: builds fracnas, the
# train_speed benchmark and the tests; runs the [gpu] tests, the speed ladder (every train_speed
# setting turned on after the other) and GPT-2 small's shape trained on corpus D with the engine's
# settings all off (recipe A's first loop) and all on (or the --speed values of CURVES), for each
# seed of SEEDS; everything into OUT (curve_<speed, commas as +>_s<seed>.json).
#   bash benchmarks/gpu_train_speed.sh OUT              # on the lent H200: .devdeps and data/corpus-v1 carried
# The same-lease comparison of autocast, all (bf16 weights, the bf16 residual stream rounded
# stochastically, fracnas's kernels) and the bf16 stream rounded to nearest, five seeds (then benchmarks/seed_compare.py on the JSON):
#   CURVES="async,fused_adamw,fused_loss,cuda_graph,loss_kernel all async,fused_adamw,fused_loss,cuda_graph,bf16_weights,loss_kernel,norm_kernel,fused_dense,adam_kernel" \
#   SEEDS="1 2 3 4 5" LADDER=baseline,async,fused_adamw,fused_loss,cuda_graph,loss_kernel,bf16_weights,norm_kernel,fused_dense,adam_kernel,residual_sr \
#   bash benchmarks/gpu_train_speed.sh OUT
# Change these for your system:
build=${BUILD:-build-gpu}               # the build folder (kept between calls while the machine is held)
data=${DATA:-data/corpus-v1}            # corpus D (cmake/dev.sh corpus)
tokens=${TOKENS:-10000000}              # the loss-curve comparison's budget
steps=${STEPS:-60}                      # train_speed: steps per run
repeats=${REPEATS:-3}                   # train_speed: runs per setting
archs=${ARCHS:-}                        # train_speed --arch (default: its three)
profile=${PROFILE:-}                    # train_speed --profile SETTING (empty: none)
curves=${CURVES:-all none}              # the --speed values trained on D
seeds=${SEEDS:-1}                       # the seeds each of them is trained with
ladder=${LADDER:-}                      # train_speed --ladder (empty: its default)
set -uo pipefail
out=${1:?usage: gpu_train_speed.sh OUT}
mkdir -p "$out"
[ -f .devdeps/gpu-env.sh ] && source .devdeps/gpu-env.sh
{ nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,power.limit --format=csv; git rev-parse HEAD; date -u; } > "$out/machine.txt" 2>&1
start=$(date +%s)
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release > "$out/build.log" 2>&1 &&
  cmake --build "$build" --target fracnas train_speed fracnas_tests >> "$out/build.log" 2>&1 || { tail -30 "$out/build.log"; exit 1; }
echo "build: $(( $(date +%s) - start )) s" | tee -a "$out/machine.txt"
"$build/tests/fracnas_tests" "[gpu]" > "$out/gpu_tests.txt" 2>&1; echo "gpu tests: exit $?" | tee -a "$out/machine.txt"
tail -3 "$out/gpu_tests.txt"
"$build/benchmarks/train_speed" --steps "$steps" --repeats "$repeats" ${archs:+--arch "$archs"} ${ladder:+--ladder "$ladder"} \
  ${profile:+--profile "$profile"} 2>&1 | tee "$out/train_speed.txt"
for seed in $seeds; do
  for speed in $curves; do
    name="curve_${speed//,/+}_s$seed"
    "$build/fracnas" train --preset gpt2-small --data "$data" --tokens "$tokens" --seed "$seed" --speed "$speed" --json \
      > "$out/$name.json" 2> "$out/$name.err"
    echo "$name: exit $?"; head -c 1200 "$out/$name.json"; echo
  done
done
