"""``python -m benchmarks [options]``: the same as ``cnet-bench [options]`` (see cnet/bench/)."""
import sys

from cnet.bench import main

if __name__ == "__main__":
    sys.exit(main())
