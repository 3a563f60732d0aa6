"""``python -m diagnose`` is the ``diagnose`` command."""

from diagnose.cli.main import main

raise SystemExit(main())
