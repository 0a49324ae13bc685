"""``python -m server`` is ``stratopipe-server``."""

from server.cli import main

raise SystemExit(main())
