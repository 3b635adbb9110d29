"""Layers: every one keeps the contract stated in :mod:`barenet.layers.base`."""

from barenet.layers.activations import (
    ELU,
    GELU,
    Activation,
    ActivationLayer,
    Identity,
    LeakyReLU,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
)
from barenet.layers.base import Layer
from barenet.layers.convolution import Conv2D
from barenet.layers.dense import Dense
from barenet.layers.embedding import Embedding
from barenet.layers.normalization import BatchNorm
from barenet.layers.pooling import AvgPool2D, GlobalAvgPool2D, MaxPool2D
from barenet.layers.preprocessing import Deskew, Rescale
from barenet.layers.recurrent import GRU, LSTM, SimpleRNN
from barenet.layers.registry import layer_from_dict, layer_to_dict, register_layer
from barenet.layers.regularization import Dropout
from barenet.layers.reshape import Flatten, Reshape

__all__ = [
    "ELU", "GELU", "GRU", "LSTM", "Activation", "ActivationLayer", "AvgPool2D", "BatchNorm",
    "Conv2D", "Dense", "Deskew", "Dropout", "Embedding", "Flatten", "GlobalAvgPool2D", "Identity",
    "Layer", "LeakyReLU", "MaxPool2D", "ReLU", "Rescale", "Reshape", "Sigmoid", "SimpleRNN",
    "Softmax", "Tanh", "layer_from_dict", "layer_to_dict", "register_layer",
]
