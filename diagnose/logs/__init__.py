"""Diagnosis from logged metrics (``diagnose logs``), for runs that cannot be rerun: readers of CSV,
JSON Lines and TensorBoard logs, and the Evidence a log can hold (loss curve, validation passes,
learning rate), judged by the same rules. It sits on top of the rules and reports.
"""
