"""Mutation bench for nn-diagnose: mutation operators planted in healthy host scripts.

`python bench/mutants.py` builds the mutants, keeps those whose plain run differs materially
from their host (the kill check), diagnoses them and scores the reports. See bench/README.md.
"""
