# Calls 4-6 on the same machine after call3.sh (the build, /tmp/bench and D-large still there),
# each returning one tar; the one-epoch settings of the reference's runs (autocast).
export FRACNAS=/tmp/fracnas SPEED=async,fused_adamw,fused_loss,cuda_graph DATA=data/corpus-large-v1
# call 4: 8 x 768's second seed (it was within 3% at seed 1)
SEEDS=2 ONLY="l8_d768" bash /tmp/bench/gpu_dlarge_epoch.sh /tmp/r2
# call 5: cosine against wsd at 16 M tokens (the 16 M study's recipe, its schedule changed)
EXTRA="--sampling epoch --schedule cosine --speed $SPEED" TOKENS=16000000 SEED=1 EVAL=0 \
  ONLY="gpt2_small l4_d768 l2_d1920_f7232" bash /tmp/bench/train_proxy.sh /tmp/bench/train_dlarge.txt /tmp/r3/cosine
# call 6: one epoch of 6 x 768
SEEDS=1 ONLY="l6_d768" bash /tmp/bench/gpu_dlarge_epoch.sh /tmp/r4
