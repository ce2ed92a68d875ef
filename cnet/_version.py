"""cnet's version (one place: the package root, the model files and the CLI read it from here)."""
__version__ = "0.1.0"
