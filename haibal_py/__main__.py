"""`python -m haibal_py`: the `haibal` command."""

import sys

from .cli import main

sys.exit(main())
