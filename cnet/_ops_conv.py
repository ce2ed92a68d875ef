"""Ops: im2col/col2im, convolution, pooling (checks, and their C kernels)."""

__all__ = []
