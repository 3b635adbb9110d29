"""2-D convolution, computed as one matrix product per batch (im2col).

Layout NCHW: a batch of N images with C channels of H x W pixels.  Weights follow PyTorch's
layout, W of shape (out_channels, in_channels, kh, kw), so they can be compared and exchanged.
"""

from __future__ import annotations

import numpy as np

from barenet import backend, initializers
from barenet.errors import ConfigError
from barenet.layers.base import Layer, Shape, shape_mismatch
from barenet.layers.dense import _positive_int


def pair(value, what: str, layer: str) -> tuple[int, int]:
    """``3`` -> (3, 3); ``(3, 5)`` stays; anything else is refused."""
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        value = (value, value)
    if not (isinstance(value, tuple | list) and len(value) == 2):
        raise ConfigError(f"{layer}: {what} must be an integer or a pair, got {value!r}")
    return (_positive_int(value[0], what, layer), _positive_int(value[1], what, layer))


def conv_output_size(size: int, kernel: int, stride: int, pad: int) -> int:
    """⌊(size + 2·pad - kernel) / stride⌋ + 1 positions of a kernel sliding over ``size``."""
    return (size + 2 * pad - kernel) // stride + 1


def im2col(x, kh: int, kw: int, stride: int, out_h: int, out_w: int):
    """(N, C, H, W) -> cols of shape (C·kh·kw, N·out_h·out_w).

    Row (c, i, j) holds, for every output position, the input pixel that kernel tap (i, j) of
    channel c multiplies.  The loop runs over the kh·kw kernel taps only; each step copies one
    strided slice of the whole batch at once.
    """
    xp = backend.xp
    n, c = x.shape[:2]
    cols = xp.empty((c, kh, kw, n, out_h, out_w), dtype=x.dtype)
    xt = x.transpose(1, 0, 2, 3)  # (C, N, H, W): makes each tap's slice match cols' layout
    for i in range(kh):
        for j in range(kw):
            cols[:, i, j] = xt[:, :, i : i + stride * out_h : stride, j : j + stride * out_w : stride]
    return cols.reshape(c * kh * kw, n * out_h * out_w)


def col2im(cols, x_shape, kh: int, kw: int, stride: int, out_h: int, out_w: int):
    """The adjoint of :func:`im2col`: sum every column entry back onto the pixel it came from."""
    xp = backend.xp
    n, c, h, w = x_shape
    cols = cols.reshape(c, kh, kw, n, out_h, out_w)
    dx = xp.zeros((c, n, h, w), dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            dx[:, :, i : i + stride * out_h : stride, j : j + stride * out_w : stride] += cols[:, i, j]
    return dx.transpose(1, 0, 2, 3)


class Conv2D(Layer):
    """Y[n, o] = b[o] + Σ_c W[o, c] ⋆ X[n, c]   (cross-correlation, as in every DL library).

    With X's patches unrolled into the columns of ``cols`` (im2col, K = C·kh·kw rows) and
    W reshaped to (O, K), the layer is one matrix product, and its backward pass two::

        Y = W·cols + b                 (O, N·Ho·Wo)
        dC/dW = dC/dY · colsᵀ          (O, K)
        dC/db = Σ dC/dY over N, Ho, Wo
        dC/dcols = Wᵀ · dC/dY, folded back onto the input's pixels (col2im) = dC/dX

    Args:
        in_channels, out_channels: C and O.
        kernel_size: kh = kw, or (kh, kw).
        stride: step between positions (the same along both axes).
        padding: zeros added on every side, or "same" (output as large as the input; stride 1
            and odd kernel sizes only).
        init: initializer of W (fan_in = C·kh·kw); ``bias_init`` of b.

    Input (N, C, H, W); output (N, O, Ho, Wo) with Ho = ⌊(H + 2·pad - kh)/stride⌋ + 1.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size=3, stride: int = 1,
                 padding=0, init="he", bias_init="zeros"):
        super().__init__()
        self.in_channels = _positive_int(in_channels, "in_channels", "Conv2D")
        self.out_channels = _positive_int(out_channels, "out_channels", "Conv2D")
        self.kernel_size = pair(kernel_size, "kernel_size", "Conv2D")
        self.stride = _positive_int(stride, "stride", "Conv2D")
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

    def build(self, input_shape: Shape, rng, dtype=np.float32) -> None:
        shapes = self.variable_shapes(input_shape)
        area = self.kernel_size[0] * self.kernel_size[1]
        fans = (self.in_channels * area, self.out_channels * area)
        self.load_variables({
            "W": self.init(shapes["W"], *fans, rng, dtype),
            "b": self.bias_init(shapes["b"], *fans, rng, dtype),
        })

    def forward(self, x, training: bool = False):
        xp = backend.xp
        (kh, kw), (ph, pw) = self.kernel_size, self.pad
        if ph or pw:
            x = xp.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
        n, _, h, w = x.shape
        out_h = (h - kh) // self.stride + 1
        out_w = (w - kw) // self.stride + 1
        self._cols = im2col(x, kh, kw, self.stride, out_h, out_w)
        self._padded_shape, self._out_hw = x.shape, (out_h, out_w)
        weights = self.params["W"].reshape(self.out_channels, -1)
        y = weights @ self._cols  # (O, N·Ho·Wo)
        y += self.params["b"][:, None]
        return y.reshape(self.out_channels, n, out_h, out_w).transpose(1, 0, 2, 3)

    def backward(self, grad_out):
        xp = backend.xp
        # (N, O, Ho, Wo) -> (O, N·Ho·Wo), the layout of Y above.
        g = xp.ascontiguousarray(grad_out.transpose(1, 0, 2, 3)).reshape(self.out_channels, -1)
        xp.matmul(g, self._cols.T, out=self.grads["W"].reshape(self.out_channels, -1))
        xp.sum(g, axis=1, out=self.grads["b"])
        if not self.input_grad_needed:
            return None
        weights = self.params["W"].reshape(self.out_channels, -1)
        dx = col2im(weights.T @ g, self._padded_shape, *self.kernel_size, self.stride,
                    *self._out_hw)
        ph, pw = self.pad
        return dx[:, :, ph : dx.shape[2] - ph, pw : dx.shape[3] - pw]

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
