"""2-D convolution as one matrix product per batch (im2col).

Layout NCHW: a batch of N images with C channels of H x W pixels.  Weights follow PyTorch's
layout, W of shape (out_channels, in_channels, kh, kw), so they can be compared and exchanged.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from barenet import initializers
from barenet.errors import ConfigError
from barenet.layers.base import Layer, Shape, positive_int, shape_mismatch


def pair(value, what: str, layer: str) -> tuple[int, int]:
    """``3`` -> (3, 3); ``(3, 5)`` stays; anything else is refused."""
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        value = (value, value)
    if not (isinstance(value, tuple | list) and len(value) == 2):
        raise ConfigError(f"{layer}: {what} must be an integer or a pair, got {value!r}")
    return (positive_int(value[0], what, layer), positive_int(value[1], what, layer))


def conv_output_size(size: int, kernel: int, stride: int, pad: int) -> int:
    """⌊(size + 2·pad - kernel) / stride⌋ + 1 positions of a kernel sliding over ``size``."""
    return (size + 2 * pad - kernel) // stride + 1


def im2col(x, kh: int, kw: int, stride: int):
    """(N, H, W, C) images (channels last, already padded) -> (N·Ho·Wo, kh·kw·C) patches.

    Row (n, r, s) holds the kh x kw x C patch the kernel meets at output position (r, s) of
    image n, in (i, j, c) order.  The patches are a strided view of x, copied once: no loop
    over positions.  (Channels last, each patch row is made of runs of C values that lie side
    by side in memory, which makes the copy fast.)
    """
    windows = sliding_window_view(x, (kh, kw), axis=(1, 2))[:, ::stride, ::stride]
    n, out_h, out_w, c = windows.shape[:4]
    return windows.transpose(0, 1, 2, 4, 5, 3).reshape(n * out_h * out_w, kh * kw * c)


def col2im(d_cols, x_shape, kh: int, kw: int, stride: int):
    """The adjoint of :func:`im2col`: each patch's gradient added back onto the pixels it was
    read from, (N·Ho·Wo, kh·kw·C) -> (N, H, W, C).  Patches overlap, so a pixel read by
    several gets the sum; the loop runs over the kh·kw kernel taps, each over the whole batch."""
    n, h, w, c = x_shape
    out_h, out_w = conv_output_size(h, kh, stride, 0), conv_output_size(w, kw, stride, 0)
    d_patches = d_cols.reshape(n, out_h, out_w, kh, kw, c)
    d_x = np.zeros(x_shape, dtype=d_cols.dtype)
    for i in range(kh):
        for j in range(kw):
            d_x[:, i : i + stride * out_h : stride, j : j + stride * out_w : stride] += \
                d_patches[:, :, :, i, j]
    return d_x


class Conv2D(Layer):
    """Y[n, o] = b[o] + Σ_c W[o, c] ⋆ X[n, c]   (cross-correlation, as in every DL library).

    With X's patches unrolled into the rows of ``cols`` (im2col, K = kh·kw·C columns) and
    W reshaped to (O, K) in the same order, the layer is one matrix product, and its backward
    pass two::

        Y = cols·Wᵀ + b                (N·Ho·Wo, O)
        dC/dW = dC/dYᵀ · cols          (O, K)
        dC/db = Σ dC/dY over N, Ho, Wo
        dC/dcols = dC/dY · W, added back onto the input's pixels (col2im) = dC/dX

    Args:
        in_channels, out_channels: C and O.
        kernel_size: kh = kw, or (kh, kw).
        stride: step between positions (the same along both axes).
        padding: zeros added on every side, or "same" (output as large as the input; stride 1
            and odd kernel sizes only).
        init: initializer of W (fan_in = C·kh·kw); ``bias_init`` of b.
        seed: where the initial weights come from (as for ``Dense``).

    Input (N, C, H, W); output (N, O, Ho, Wo) with Ho = ⌊(H + 2·pad - kh)/stride⌋ + 1.  The
    cost in memory is ``cols``: N·Ho·Wo·C·kh·kw values kept for the backward pass.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size=3, *, stride: int = 1,
                 padding=0, init="he", bias_init="zeros", seed=None):
        super().__init__()
        self.in_channels = positive_int(in_channels, "in_channels", "Conv2D")
        self.out_channels = positive_int(out_channels, "out_channels", "Conv2D")
        self.kernel_size = pair(kernel_size, "kernel_size", "Conv2D")
        self.stride = positive_int(stride, "stride", "Conv2D")
        kh, kw = self.kernel_size
        if padding == "same":
            if self.stride != 1 or kh % 2 == 0 or kw % 2 == 0:
                raise ConfigError("Conv2D: padding='same' needs stride 1 and odd kernel sizes; "
                                  f"got stride {self.stride}, kernel {self.kernel_size}")
            self.pad = (kh // 2, kw // 2)
        elif isinstance(padding, int | np.integer) and not isinstance(padding, bool) and padding >= 0:
            self.pad = (int(padding), int(padding))
        else:
            raise ConfigError(f"Conv2D: padding must be an integer >= 0 or 'same', got {padding!r}")
        self.padding = padding
        self.init = initializers.get(init)
        self.bias_init = initializers.get(bias_init)
        self.build(None, seed)  # the weights' shapes do not depend on the image size

    def output_shape(self, input_shape: Shape) -> Shape:
        kh, kw = self.kernel_size
        if len(input_shape) != 3 or input_shape[0] != self.in_channels:
            raise shape_mismatch(self, f"({self.in_channels}, H, W)", input_shape)
        _, h, w = input_shape
        out_h = conv_output_size(h, kh, self.stride, self.pad[0])
        out_w = conv_output_size(w, kw, self.stride, self.pad[1])
        if out_h < 1 or out_w < 1:
            raise shape_mismatch(self, f"at least {kh - 2 * self.pad[0]} x {kw - 2 * self.pad[1]} "
                                 "pixels", input_shape)
        return (self.out_channels, out_h, out_w)

    def variable_shapes(self, input_shape: Shape) -> dict[str, Shape]:
        return {"W": (self.out_channels, self.in_channels, *self.kernel_size),
                "b": (self.out_channels,)}

    def initialize(self, input_shape, rng, dtype) -> None:
        shapes = self.variable_shapes(input_shape)
        area = self.kernel_size[0] * self.kernel_size[1]
        fans = (self.in_channels * area, self.out_channels * area)
        self.set_variables({"W": self.init(shapes["W"], *fans, rng, dtype),
                            "b": self.bias_init(shapes["b"], *fans, rng, dtype)})

    def weight_matrix(self):
        """W as (O, kh·kw·C), its columns in the order of ``cols``."""
        return self.params["W"].transpose(0, 2, 3, 1).reshape(self.out_channels, -1)

    def forward(self, x, training: bool = False):
        (kh, kw), (ph, pw) = self.kernel_size, self.pad
        x = x.transpose(0, 2, 3, 1)  # channels last: (N, H, W, C), a view
        padded = np.pad(x, ((0, 0), (ph, ph), (pw, pw), (0, 0))) if ph or pw else x
        self.padded_shape = padded.shape
        self.cols = im2col(padded, kh, kw, self.stride)
        y = self.cols @ self.weight_matrix().T + self.params["b"]  # (N·Ho·Wo, O)
        out_h = conv_output_size(x.shape[1], kh, self.stride, ph)
        return y.reshape(len(x), out_h, -1, self.out_channels).transpose(0, 3, 1, 2)

    def backward(self, grad_out):
        (kh, kw), (ph, pw) = self.kernel_size, self.pad
        g = grad_out.transpose(0, 2, 3, 1).reshape(-1, self.out_channels)  # (N·Ho·Wo, O)
        d_w = g.T @ self.cols  # (O, kh·kw·C)
        self.grads["W"] = d_w.reshape(self.out_channels, kh, kw, -1).transpose(0, 3, 1, 2)
        self.grads["b"] = g.sum(axis=0)
        d_x = col2im(g @ self.weight_matrix(), self.padded_shape, kh, kw, self.stride)
        h, w = self.padded_shape[1] - 2 * ph, self.padded_shape[2] - 2 * pw
        return d_x[:, ph : ph + h, pw : pw + w].transpose(0, 3, 1, 2)

    def get_config(self) -> dict:
        return {
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "kernel_size": list(self.kernel_size),
            "stride": self.stride,
            "padding": self.padding,
            "init": initializers.name_of(self.init),
            "bias_init": initializers.name_of(self.bias_init),
        }

    def extra_repr(self) -> str:
        kh, kw = self.kernel_size
        pad = f", padding={self.padding!r}" if self.padding else ""
        stride = f", stride={self.stride}" if self.stride != 1 else ""
        return f"{self.in_channels} -> {self.out_channels}, {kh}x{kw}{stride}{pad}"
