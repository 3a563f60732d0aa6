"""Child entry: ``python -m diagnose.child SPEC.json`` runs one scenario of the user's script."""

import os
import sys

from diagnose.child.session import main

if __name__ == "__main__":
    # os._exit: the user's atexit handlers and lingering threads must not outlive the run.
    os._exit(main(sys.argv))
