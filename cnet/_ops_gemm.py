"""Ops: GEMM and the affine layer (checks, and their C kernels)."""

__all__ = []
