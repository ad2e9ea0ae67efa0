"""``python -m haibal_py.gui [GRAPH]``."""

import sys

from .app import main

sys.exit(main())
