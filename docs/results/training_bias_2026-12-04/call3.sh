source .devdeps/gpu-env.sh >/dev/null; s=$(date +%s); o=$OUT/call3; mkdir -p $o; B=build-gpu
cmake -S . -B $B -G Ninja -DCMAKE_BUILD_TYPE=Release >/tmp/cfg.log 2>&1 && cmake --build $B --target train_speed fracnas_tests >/tmp/build.log 2>&1 || { tail -40 /tmp/build.log; exit 1; }
echo "build $(( $(date +%s)-s )) s" | tee -a $o/machine.txt
timeout 200 $B/tests/fracnas_tests "[gpu]" > $o/gpu_tests.txt 2>&1; echo "gpu tests: exit $? at $(( $(date +%s)-s )) s" >> $o/machine.txt; tail -2 $o/gpu_tests.txt
top=async+fused_adamw+fused_loss+cuda_graph+bf16_weights+loss_kernel+norm_kernel
g="n_layer=12 d_model=768 d_inner=3072,3072,3072,3072,3072,3072,3072,3072,3072,3072,3072,3072 n_head=12,12,12,12,12,12,12,12,12,12,12,12"
timeout 150 $B/benchmarks/train_speed --steps 60 --repeats 3 --gemm 0 --arch "$g" --ladder $top,fused_dense+adam_kernel,residual_fp32 > $o/train_speed.txt 2>&1
echo "ladder: exit $? at $(( $(date +%s)-s )) s" >> $o/machine.txt
cd $OUT && tar czf call3.tgz call3 && rm -rf call3; tar xzf call3.tgz -O call3/machine.txt; tar xzf call3.tgz -O call3/train_speed.txt | grep '^n_layer' | awk '{print $(NF-5),$(NF-4),$(NF-3),$(NF-2)}'
