"""Ops: sigmoid/tanh/softmax, dropout, batch normalization, optimizer updates (checks, and their C kernels)."""

__all__ = []
