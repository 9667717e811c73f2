"""Tierwise's test suite, a regular package so that `tests.*` always means these files.

ppi-python (in the dev extra, for the PPI reference checks) installs a top-level `tests` package
into site-packages; were this directory a namespace package, that one would win and every
`from tests.projfix import ...` in a benchmark or a subprocess would fail.
"""
