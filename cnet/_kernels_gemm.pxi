# Bindings of the gemm kernels; included by _kernels.pyx (same directives, same cimports).
