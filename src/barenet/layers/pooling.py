"""Pooling: max and average over windows, and the global average over each channel map."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

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

    def windows(self, x):
        """(N, C, H, W) -> (N, C, Ho, Wo, ph·pw): the values of every window, a strided view
        copied once."""
        (ph, pw), (sh, sw) = self.pool_size, self.stride
        view = sliding_window_view(x, (ph, pw), axis=(2, 3))[:, :, ::sh, ::sw]
        return view.reshape(*view.shape[:4], ph * pw)

    def spread(self, d_windows, x_shape):
        """The adjoint of :meth:`windows`: each window's gradient (N, C, Ho, Wo, ph·pw) added
        back onto the pixels it covers; a loop over the ph·pw window offsets."""
        (ph, pw), (sh, sw) = self.pool_size, self.stride
        out_h, out_w = d_windows.shape[2:4]
        d_x = np.zeros(x_shape, dtype=d_windows.dtype)
        for i in range(ph):
            for j in range(pw):
                d_x[:, :, i : i + sh * out_h : sh, j : j + sw * out_w : sw] += \
                    d_windows[..., i * pw + j]
        return d_x

    def get_config(self) -> dict:
        return {"pool_size": list(self.pool_size), "stride": list(self.stride)}


class MaxPool2D(_Pool2D):
    """Y = the maximum of each window.

    Backward: each window's gradient goes to its arg-max alone (the first one on ties), since
    only that input moved the output.
    """

    def forward(self, x, training: bool = False):
        windows = self.windows(x)
        self.x_shape = x.shape
        self.argmax = windows.argmax(axis=-1)
        return np.take_along_axis(windows, self.argmax[..., None], axis=-1)[..., 0]

    def backward(self, grad_out):
        taps = self.pool_size[0] * self.pool_size[1]
        d_windows = grad_out[..., None] * (self.argmax[..., None] == np.arange(taps))
        return self.spread(d_windows, self.x_shape)


class AvgPool2D(_Pool2D):
    """Y = the mean of each window;  every input of a window gets dC/dY / (ph·pw)."""

    def forward(self, x, training: bool = False):
        self.x_shape = x.shape
        return self.windows(x).mean(axis=-1)

    def backward(self, grad_out):
        taps = self.pool_size[0] * self.pool_size[1]
        d_windows = np.broadcast_to(grad_out[..., None] / taps, (*grad_out.shape, taps))
        return self.spread(d_windows, self.x_shape)


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
