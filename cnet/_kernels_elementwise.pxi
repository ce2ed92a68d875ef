# Bindings of the elementwise kernels; included by _kernels.pyx (same directives, same cimports).
