"""Whether this process trains alone or as one of several (cnet.distributed), for the modules below
cnet.distributed: they ask here, and never import it.

``cnet.distributed.init()`` registers its engine with ``set_engine``; ``engine()`` is then that object
(models, the book's Trainer and fit hand their training steps, evaluation and start-up to it), else None.
``is_root()``: whether this process is the one that prints and writes files (rank 0, or the only one).
"""

_engine = None


def engine():
    """The data-parallel engine registered by cnet.distributed.init(), or None (training is local)."""
    return _engine


def set_engine(new):
    """Register (or, with None, remove) the engine; returns the previous one."""
    global _engine
    previous, _engine = _engine, new
    return previous


def is_root():
    """True on the process that prints progress and writes models, checkpoints and plots."""
    return _engine is None or _engine.rank == 0
