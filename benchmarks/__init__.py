"""Benchmarks of headflow, measured side by side in one run.

``python -m benchmarks`` runs every benchmark, prints a table and writes
``docs/benchmarks.md`` with its plots; ``--smoke`` runs tiny sizes once (the test
suite uses it to keep the benchmarks working).  Every figure is a ratio of two
timings taken in the same run on the same machine, so it can be compared across
machines; absolute times are shown beside it.
"""
