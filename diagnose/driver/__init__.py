"""What runs in our process to drive the runs of a script: resolving the target, starting child
interpreters with their budgets (the runner), choosing and planning the replays (the agent and its
scenarios), and progress reporting. It may import anything of ours; nothing under
``diagnose.child`` imports it.
"""
