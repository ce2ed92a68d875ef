"""``python -m cnet.book SCRIPT [ARGS]``: run a script of the book's repository on cnet (see cnet.book._runner)."""
import sys

from ._runner import main

sys.exit(main())
