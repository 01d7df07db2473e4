# The five models of docs/results/gpu_eval.md, sourced by gpu_eval_matrix.sh and gpu_scenario.sh:
# GPT-2 small and medium and three shallow-wide models of ~85 M decoder parameters, each as
# "preset NAME" or "arch CANONICAL" (the fracnas eval option and its value).
list() { python3 -c "print(','.join(['$1']*$2))"; }
archs=(
  "preset gpt2-small"
  "preset gpt2-medium"
  "arch n_layer=7 d_model=1024 d_inner=$(list 4096 7) n_head=$(list 16 7)"
  "arch n_layer=3 d_model=1536 d_inner=$(list 6144 3) n_head=$(list 24 3)"
  "arch n_layer=2 d_model=1920 d_inner=$(list 7680 2) n_head=$(list 30 2)"
)
