# Bindings of the conv kernels; included by _kernels.pyx (same directives, same cimports).
