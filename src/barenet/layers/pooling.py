"""Pooling: max and average over windows, and the global average over each channel map."""

from __future__ import annotations

import numpy as np

from barenet.layers.base import Layer, Shape, shape_mismatch
from barenet.layers.convolution import conv_output_size, pair


class _Pool2D(Layer):
    """Shared shape logic: windows of ``pool_size`` every ``stride`` pixels, no padding; rows
    and columns that do not fill a window are dropped (PyTorch's default floor mode)."""

    def __init__(self, pool_size=2, *, stride=None):
        super().__init__()
        name = type(self).__name__
        self.pool_size = pair(pool_size, "pool_size", name)
        self.stride = pair(stride if stride is not None else self.pool_size, "stride", name)

    def output_shape(self, input_shape: Shape) -> Shape:
        (ph, pw), (sh, sw) = self.pool_size, self.stride
        if len(input_shape) != 3 or input_shape[1] < ph or input_shape[2] < pw:
            raise shape_mismatch(self, f"(C, H, W) with H >= {ph} and W >= {pw}", input_shape)
        c, h, w = input_shape
        return (c, conv_output_size(h, ph, sh, 0), conv_output_size(w, pw, sw, 0))

    def taps(self, out_h: int, out_w: int) -> list:
        """For each offset (i, j) inside a window: the slice of the input that it reads at
        every output position.  Layers loop over these ph·pw offsets, each over the batch."""
        (ph, pw), (sh, sw) = self.pool_size, self.stride
        return [(..., slice(i, i + sh * out_h, sh), slice(j, j + sw * out_w, sw))
                for i in range(ph) for j in range(pw)]

    def get_config(self) -> dict:
        return {"pool_size": list(self.pool_size), "stride": list(self.stride)}


class MaxPool2D(_Pool2D):
    """Y = the maximum of each window.

    Backward: each window's gradient goes to its arg-max alone (the first one on ties), since
    only that input moved the output.
    """

    def forward(self, x, training: bool = False):
        taps = self.taps(*self.output_shape(x.shape[1:])[1:])
        y = x[taps[0]]
        for tap in taps[1:]:
            y = np.maximum(y, x[tap])
        self.x, self.y = x, y
        return y

    def backward(self, grad_out):
        d_x = np.zeros_like(self.x)
        taken = np.zeros_like(self.y, dtype=bool)  # windows whose arg-max is found
        for tap in self.taps(*grad_out.shape[2:]):
            first = (self.x[tap] == self.y) & ~taken  # the first offset holding the maximum
            d_x[tap] += grad_out * first
            taken |= first
        return d_x


class AvgPool2D(_Pool2D):
    """Y = the mean of each window;  every input of a window gets dC/dY / (ph·pw)."""

    def forward(self, x, training: bool = False):
        taps = self.taps(*self.output_shape(x.shape[1:])[1:])
        self.x = x
        return sum(x[tap] for tap in taps) / len(taps)

    def backward(self, grad_out):
        taps = self.taps(*grad_out.shape[2:])
        d_x = np.zeros_like(self.x)
        for tap in taps:
            d_x[tap] += grad_out / len(taps)
        return d_x


class GlobalAvgPool2D(Layer):
    """(N, C, H, W) -> (N, C): Y[n, c] = mean of X[n, c];  dC/dX = dC/dY / (H·W) everywhere."""

    def output_shape(self, input_shape: Shape) -> Shape:
        if len(input_shape) != 3:
            raise shape_mismatch(self, "(C, H, W)", input_shape)
        return (input_shape[0],)

    def forward(self, x, training: bool = False):
        self.x_shape = x.shape
        return x.mean(axis=(2, 3))

    def backward(self, grad_out):
        n, c, h, w = self.x_shape
        return np.broadcast_to(grad_out[:, :, None, None] / (h * w), self.x_shape).copy()
