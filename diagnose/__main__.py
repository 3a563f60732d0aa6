"""``python -m diagnose`` is the ``diagnose`` command."""

from diagnose.cli import main

raise SystemExit(main())
