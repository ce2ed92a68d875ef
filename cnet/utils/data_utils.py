"""Keras's keras.utils.data_utils: ``Sequence``, the base class of data sets that fit/evaluate/predict read
batch by batch (also ``cnet.utils.Sequence``)."""

__all__ = ["Sequence"]


class Sequence:
    """A data set read by batches, Keras's ``keras.utils.Sequence``: subclass it and define
    ``__getitem__(index)`` (batch `index` in [0, len): a tuple (x, y), or (x, y, sample_weight); x alone
    for predict) and ``__len__()`` (the number of batches). ``on_epoch_end()`` is called after each epoch
    of fit (e.g. to reshuffle), and after each full pass of evaluate and predict.

    fit(sequence, ...) reads the batches in a new random order each epoch (shuffle=True, the default; from
    fit's shuffling Generator, so a seed repeats it) or in order (shuffle=False); with workers=N, N threads
    read batches ahead (at most max_queue_size), and fit still takes them in that order: __getitem__ must
    not depend on the order of the calls (a batch's contents only on its index), which makes a
    Sequence safe with threads where a generator is not.
    """

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__(index): batch `index`")

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __len__(): the number of batches")

    def on_epoch_end(self):
        """Called at the end of every epoch (does nothing unless overridden)."""

    def __iter__(self):
        """The batches, in order (Keras 2.2)."""
        for i in range(len(self)):
            yield self[i]
