# Call 1 on the lent H200: this tree (the LayerNorm backward with its row held in registers and
# slabs sized to one wave) and the session's starting tree (64e8d1c, carried as .base), both built
# on the same machine; the [gpu] tests; the speed ladders of the three shapes, recipe A's first
# loop (baseline) first; eager profiles of both streams. Written under $OUT as it goes, then one tar.
source .devdeps/gpu-env.sh >/dev/null; s=$(date +%s); o=$OUT/call1; mkdir -p $o; B=build-gpu
{ nvidia-smi --query-gpu=name,driver_version --format=csv; date -u; } > $o/machine.txt 2>&1
( cmake -S .base -B /tmp/base-build -G Ninja -DCMAKE_BUILD_TYPE=Release >/tmp/base-cfg.log 2>&1 && cmake --build /tmp/base-build --target train_speed >/tmp/base-build.log 2>&1; echo "base build exit $?" >> $o/machine.txt ) &
cmake -S . -B $B -G Ninja -DCMAKE_BUILD_TYPE=Release >/tmp/cfg.log 2>&1 && cmake --build $B --target fracnas train_speed fracnas_tests >/tmp/build.log 2>&1 || { tail -40 /tmp/build.log; exit 1; }
echo "build $(( $(date +%s)-s )) s" | tee -a $o/machine.txt
arch() { local l=$1 d=$2 f=$3 h=$4 i; local fs= hs=; for ((i=0;i<l;i++)); do fs+=${fs:+,}$f; hs+=${hs:+,}$h; done; echo "n_layer=$l d_model=$d d_inner=$fs n_head=$hs"; }
top=async+fused_adamw+fused_loss+cuda_graph+bf16_weights+loss_kernel+norm_kernel+fused_dense+adam_kernel
eager=async+fused_adamw+fused_loss+bf16_weights+loss_kernel+norm_kernel+fused_dense+adam_kernel
timeout 300 $B/tests/fracnas_tests "[gpu]" > $o/gpu_tests.txt 2>&1; echo "gpu tests: exit $? at $(( $(date +%s)-s )) s" >> $o/machine.txt; tail -2 $o/gpu_tests.txt
wait
g=$(arch 12 768 3072 12)
$B/benchmarks/train_speed --steps 60 --repeats 3 --arch "$g" --ladder baseline > $o/train_speed_baseline.txt 2>&1
echo "baseline: exit $? at $(( $(date +%s)-s )) s" >> $o/machine.txt
$B/benchmarks/train_speed --steps 60 --repeats 3 --ladder $top,residual_fp32,norm_add > $o/train_speed_top.txt 2>&1  # the three shapes
echo "ladder: exit $? at $(( $(date +%s)-s )) s" >> $o/machine.txt
$B/benchmarks/train_speed --steps 60 --repeats 3 --gemm 0 --ladder $top+residual_sr > $o/train_speed_sr.txt 2>&1
echo "ladder sr: exit $? at $(( $(date +%s)-s )) s" >> $o/machine.txt
/tmp/base-build/benchmarks/train_speed --steps 60 --repeats 3 --ladder $top,residual_fp32,norm_add > $o/train_speed_top_base.txt 2>&1
/tmp/base-build/benchmarks/train_speed --steps 60 --repeats 3 --gemm 0 --ladder $top+residual_sr > $o/train_speed_sr_base.txt 2>&1
echo "ladders base: exit $? at $(( $(date +%s)-s )) s" >> $o/machine.txt
$B/benchmarks/train_speed --steps 40 --repeats 1 --gemm 0 --arch "$g" --ladder $eager+residual_sr --profile $eager+residual_sr > $o/profile_sr.txt 2>&1
$B/benchmarks/train_speed --steps 40 --repeats 1 --gemm 0 --arch "$g" --ladder $eager+residual_fp32 --profile $eager+residual_fp32 > $o/profile_fp32stream.txt 2>&1
echo "profiles: exit $? at $(( $(date +%s)-s )) s" >> $o/machine.txt
cd $OUT && tar czf call1.tgz call1 && rm -rf call1
tar xzf call1.tgz -O call1/machine.txt; tar xzf call1.tgz -O call1/train_speed_baseline.txt call1/train_speed_top.txt call1/train_speed_sr.txt call1/train_speed_top_base.txt call1/train_speed_sr_base.txt | grep -h '^n_layer' | cut -c1-20,150-
tar xzf call1.tgz -O call1/profile_sr.txt call1/profile_fp32stream.txt | grep -h 'fracnas_ln\|GPU kernels'
