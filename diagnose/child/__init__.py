"""What runs inside the user's interpreter: the child entry and session, the tap and its hooks
(forward hooks, patches, hand-written updates), budgets, the write sandbox, the heartbeat, the
lifeline and the fork server's child side, and the training state the probes read.

Nothing here may make the user's run heavier or different: these modules import only the standard
library, torch, ``diagnose.defaults``, each other and ``diagnose.probes`` (never pydantic, networkx,
jinja2, rich, matplotlib or yaml; tests/test_layout.py enforces it). Our own side may import from
here (the heartbeat file, the lifeline, atomic writes), never the reverse.
"""
