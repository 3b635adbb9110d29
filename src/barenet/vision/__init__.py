"""Turning a photo or a drawing of a digit into the 28x28 input an MNIST model expects."""

from barenet.vision.preprocess import EmptyImageError, load_image, to_mnist

__all__ = ["EmptyImageError", "load_image", "to_mnist"]
