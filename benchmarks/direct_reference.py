# Cross-check of fracnas's DIRECT against an independent implementation, SciPy's
# scipy.optimize.direct (Gablonsky's DIRECT and DIRECT-L), on the shifted 30-d ellipsoid at
# 10,000 evaluations: both stall near the same error as fracnas, so the stall is DIRECT's, not a
# fracnas bug. Shifts are drawn like fracnas's (uniform in [0.1,0.45) U [0.55,0.9)) but from
# NumPy's generator, so the instances differ from fracnas's; compare orders of magnitude.
# Run: python3 -m venv /tmp/sv && /tmp/sv/bin/pip install numpy scipy &&
#      /tmp/sv/bin/python benchmarks/direct_reference.py
import numpy as np, sys
from scipy.optimize import direct
d=30
res={}
for seed in range(1,6):
    rng=np.random.default_rng(seed)
    t=0.1+0.7*rng.random(d); t[t>=0.45]+=0.1
    lo,hi=-5.12,5.12; zs=lo+(hi-lo)*t
    w=10.0**(6*np.arange(d)/(d-1))
    f=lambda u: float(np.sum(w*((lo+(hi-lo)*np.asarray(u))-zs)**2))
    for lb in (False,True):
        r=direct(f,[(0,1)]*d,maxfun=10000,maxiter=100000,locally_biased=lb,eps=1e-4,len_tol=1e-12,vol_tol=0)
        res.setdefault(lb,[]).append(r.fun)
for lb,v in res.items(): print("scipy direct", "locally_biased" if lb else "original", "median", np.median(v), "nfev<=10000")
