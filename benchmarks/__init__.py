"""Benchmarks of headflow, measured side by side in one run.

``python -m benchmarks`` runs every benchmark, prints a table and writes
``docs/benchmarks.md`` with its plots; ``--smoke`` runs tiny sizes once (the test
suite uses it to keep the benchmarks working).  Every figure is a ratio of two
timings taken in the same run on the same machine, so it can be compared across
machines; absolute times are shown beside it.
"""

import os

# single-threaded BLAS on both sides of every ratio, so that the ratios do not
# depend on what else the machine is running
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
