"""Many runs at once (``diagnose batch``): run lists, the local executor (one single-run command per
process), the Ray executor, and the summaries (summary.json/csv, index.html) grouped by cause. It
sits on top of the single-run command and the reports; nothing below it imports it.
"""
