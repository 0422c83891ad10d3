"""Read handwritten Latin letters (a-z): train on EMNIST Letters, recognize with ONNX Runtime."""

__version__ = "0.1.0"
