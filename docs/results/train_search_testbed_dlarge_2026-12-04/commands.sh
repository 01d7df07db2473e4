# The outputs of this folder (this 2-core machine; machine.txt), from the repository's root:
"${XDG_CACHE_HOME:-$HOME/.cache}/fracnas/torch-2.11.0/bin/python" benchmarks/fit_dlarge_testbed.py > fit.txt  # cmake/dev.sh's venv (numpy); the coefficients in src/eval/model_evaluators.cpp
python3 benchmarks/train_search_baselines.py --fracnas build/fracnas --limit 1300 --seeds 10 --train-model dlarge > limit1300.txt
python3 benchmarks/train_search_baselines.py --fracnas build/fracnas --limit 7200 --seeds 10 --train-model dlarge > limit7200.txt
# the same searches on the Chinchilla test bed, 10 seeds (the earlier folder has 5)
python3 benchmarks/train_search_baselines.py --fracnas build/fracnas --limit 7200 --seeds 10 > chinchilla_limit7200.txt
