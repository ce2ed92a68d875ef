"""The book's common package (functions, gradient, layers, multi_layer_net, multi_layer_net_extend,
optimizer, trainer, util), with the book's names and semantics, computed by cnet's kernels."""
