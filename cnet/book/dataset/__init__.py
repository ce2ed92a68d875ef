"""The book's dataset package: ``dataset.mnist.load_mnist``, served by cnet's MNIST loader."""
