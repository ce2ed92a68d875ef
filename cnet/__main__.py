"""`python -m cnet ...` is the `cnet` command: see cnet.cli."""
import sys

from .cli import main

sys.exit(main())
