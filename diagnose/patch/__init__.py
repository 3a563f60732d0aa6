"""Fixes as patches to the user's own files, proved by running them.

Runs in our process, after the diagnosis, never inside the user's interpreter (the child side must
not import it). For the top cause it locates, on the syntax tree, the place the evidence points
to (the call recorded at run time, followed through the names that feed it), edits the *text*
there so the user's names, indentation and comments stay as they were, writes a unified diff,
and runs the patched copy under the same observation so the report can show whether it holds.
What a cause's edit is comes from the rule files (``patch:``); the script's names and comments
never decide what is wrong, only where to write.
"""

from diagnose.patch.make import attempt_patch

__all__ = ["attempt_patch"]
