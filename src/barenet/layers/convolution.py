"""2-D convolution: one matrix product per batch (im2col), or Winograd's F(4x4, 3x3).

Layout NCHW: a batch of N images with C channels of H x W pixels.  Weights follow PyTorch's
layout, W of shape (out_channels, in_channels, kh, kw), so they can be compared and exchanged.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import as_strided

from barenet import backend, initializers, parallel
from barenet.errors import ConfigError
from barenet.layers import winograd
from barenet.layers.base import Layer, Shape, shape_mismatch
from barenet.layers.dense import _positive_int

WINOGRAD_MIN_CHANNELS = 16
"""3x3 convolutions with stride 1 and at least this many input channels use Winograd's
F(4x4, 3x3) (``layers/winograd.py``); others im2col.  With fewer channels the 36 products of
the transformed tiles are too thin to beat one im2col product (crossover between 8 and 16
channels on this project's machine)."""

WINOGRAD_PIECE_BYTES = 1 << 18
"""Input bytes of the pieces of a batch that a Winograd convolution works through (10 images
of 14x14x32 in ``cnn``; pieces of 512 KB made its training steps about 7% longer)."""


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


def im2col(x, kh: int, kw: int, stride: int, out_h: int, out_w: int, out):
    """(N, H, W, C) channels-last images -> ``out`` of shape (N·out_h·out_w, kh·kw·C).

    Row (n, r, s) holds the kh x kw x C patch that the kernel meets at output position (r, s)
    of image n, in (i, j, c) order.  No Python loop over positions: the patches are a strided
    view of x, copied in one step.
    """
    n, _, _, c = x.shape
    if kw * c >= 8:
        # For fixed (n, r, s, i) the kw·C values of a patch row are contiguous in x, so the
        # view's innermost axis is a contiguous run and the copy is fast.  (That needs x in
        # channels-last memory: free for a convolution's output, one copy otherwise.)
        x = backend.xp.ascontiguousarray(x)
        s_n, s_h, s_w, s_c = x.strides
        patches = as_strided(x, (n, out_h, out_w, kh, kw * c),
                             (s_n, stride * s_h, stride * s_w, s_h, s_c), writeable=False)
        out.reshape(patches.shape)[...] = patches
        return
    # Few channels (the first layer): runs of kw·C values are too short for the strided copy to
    # pay off; copy one kernel tap at a time instead (kh·kw steps, each over the whole batch).
    cols = out.reshape(n, out_h, out_w, kh, kw, c)
    for i in range(kh):
        for j in range(kw):
            cols[:, :, :, i, j, :] = x[:, i : i + stride * out_h : stride,
                                       j : j + stride * out_w : stride, :]


def col2im(tap_cols, out, stride: int, out_h: int, out_w: int) -> None:
    """The adjoint of :func:`im2col`, from tap-major columns: ``tap_cols[i, j]`` of shape
    (N·out_h·out_w, C) holds the gradient of the pixels that kernel tap (i, j) read.  Each is
    added back onto those pixels of ``out`` (N, H, W, C), which starts from zero.

    Tap-major order makes each of the kh·kw additions read a contiguous block.
    """
    kh, kw = tap_cols.shape[:2]
    n, _, _, c = out.shape
    out[...] = 0
    for i in range(kh):
        for j in range(kw):
            out[:, i : i + stride * out_h : stride, j : j + stride * out_w : stride, :] += \
                tap_cols[i, j].reshape(n, out_h, out_w, c)


class Conv2D(Layer):
    """Y[n, o] = b[o] + Σ_c W[o, c] ⋆ X[n, c]   (cross-correlation, as in every DL library).

    With X's patches unrolled into the rows of ``cols`` (im2col, K = kh·kw·C columns) and
    W reshaped to (O, K), the layer is one matrix product, and its backward pass two::

        Y = cols·Wᵀ + b                (N·Ho·Wo, O)
        dC/dW = dC/dYᵀ · cols          (O, K)
        dC/db = Σ dC/dY over N, Ho, Wo
        dC/dcols = dC/dY · W, added back onto the input's pixels (col2im) = dC/dX

    3x3 kernels with stride 1 (and at least :data:`WINOGRAD_MIN_CHANNELS` input channels)
    take Winograd's F(4x4, 3x3) instead, which needs a quarter of the multiplications
    (``layers/winograd.py``).

    Each core takes its own slice of the images (``barenet.parallel``): its rows of ``cols``
    and Y, and its share of dC/dW and dC/db, which are then added up.  (Winograd convolutions
    cut the batch into smaller pieces, which the cores take in turn.)

    Shapes are NCHW, but the output is stored channels-last in memory (its NCHW view has
    strides of an NHWC array, like PyTorch's ``channels_last``): the matrix product produces
    that order for free, the next convolution reads it without a copy, and element-wise layers
    and pooling keep it.

    Args:
        in_channels, out_channels: C and O.
        kernel_size: kh = kw, or (kh, kw).
        stride: step between positions (the same along both axes).
        padding: zeros added on every side, or "same" (output as large as the input; stride 1
            and odd kernel sizes only).
        init: initializer of W (fan_in = C·kh·kw); ``bias_init`` of b.

    Input (N, C, H, W); output (N, O, Ho, Wo) with Ho = ⌊(H + 2·pad - kh)/stride⌋ + 1.
    """

    splits_work = True
    output_is_scratch = True

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
        self.winograd = (self.kernel_size == (3, 3) and self.stride == 1
                         and self.in_channels >= WINOGRAD_MIN_CHANNELS)
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

    def _weight_matrix(self):
        """[Wᵀ; b] of shape (kh·kw·C + 1, O): W's rows in the column order of ``cols``, then
        the bias, which meets the column of ones that ends ``cols``."""
        w = self.params["W"].transpose(2, 3, 1, 0).reshape(-1, self.out_channels)
        return backend.xp.concatenate([w, self.params["b"][None]])

    def forward(self, x, training: bool = False):
        (kh, kw), (ph, pw) = self.kernel_size, self.pad
        n, _, h, w = x.shape
        out_h = conv_output_size(h, kh, self.stride, ph)
        out_w = conv_output_size(w, kw, self.stride, pw)
        self._in_hw, self._out_hw = (h, w), (out_h, out_w)
        y = backend.xp.empty((n, out_h, out_w, self.out_channels), dtype=x.dtype)
        if self.winograd:
            self._winograd_forward(x, y)
        else:
            self._im2col_forward(x, y)
        return y.transpose(0, 3, 1, 2)

    def _im2col_forward(self, x, y):
        xp = backend.xp
        (kh, kw), (ph, pw) = self.kernel_size, self.pad
        n = len(x)
        out_h, out_w = self._out_hw
        positions = out_h * out_w
        depth = kh * kw * self.in_channels
        # [cols 1]: the bias rides in the product instead of a pass over Y (and back, dC/db)
        self._cols = xp.empty((n * positions, depth + 1), dtype=x.dtype)
        y = y.reshape(n * positions, self.out_channels)
        weights = self._weight_matrix()

        def convolve(s):  # the images of slice s, on one core
            rows = slice(s.start * positions, s.stop * positions)
            x_s = x[s].transpose(0, 2, 3, 1)  # channels-last view: free for a conv's output
            if ph or pw:
                x_s = xp.pad(x_s, ((0, 0), (ph, ph), (pw, pw), (0, 0)))
            im2col(x_s, kh, kw, self.stride, out_h, out_w, out=self._cols[rows, :depth])
            self._cols[rows, depth] = 1
            xp.matmul(self._cols[rows], weights, out=y[rows])  # (N·Ho·Wo, O)

        parallel.for_slices(n, convolve)  # one share per core: pieces cost more than they save

    def _winograd_forward(self, x, y):
        n, c = len(x), self.in_channels
        t = winograd.transforms(x.dtype)
        self._u = winograd.kernel_transform(self.params["W"], t)
        tiles = self._tiles_per_image()
        self._v = backend.xp.empty((winograd.TILE ** 2, n * tiles, c), dtype=x.dtype)

        def convolve(s):  # the images of piece s
            winograd.forward(x[s].transpose(0, 2, 3, 1), self.pad, self._u, self.params["b"], t,
                             out=y[s], v=self._v[:, s.start * tiles : s.stop * tiles])

        # In small pieces of the batch: a piece's tiles, their transforms and its 36 products
        # stay in the CPU's caches, and products of a few hundred tiles run faster than of
        # thousands.  A training step of `cnn` took about 15% less time than with one share
        # of the batch per core.
        parallel.for_slices(n, convolve, self._image_bytes(x.itemsize), WINOGRAD_PIECE_BYTES)

    def _tiles_per_image(self) -> int:
        return math.prod(winograd.blocks(*self._out_hw))

    def _image_bytes(self, itemsize: int) -> int:
        """Bytes of one input image: what both Winograd passes size their pieces by, so the
        backward pass cuts the batch where the forward pass did."""
        return math.prod(self._in_hw) * self.in_channels * itemsize

    def backward(self, grad_out):
        xp = backend.xp
        # (N, O, Ho, Wo) -> (N, Ho, Wo, O), the layout of Y (no copy when channels-last).
        g = xp.ascontiguousarray(grad_out.transpose(0, 2, 3, 1))
        d_x = self._winograd_backward(g) if self.winograd else self._im2col_backward(g)
        return None if d_x is None else d_x.transpose(0, 3, 1, 2)

    def _im2col_backward(self, g):
        xp = backend.xp
        n, (h, w), (ph, pw) = len(g), self._in_hw, self.pad
        g = g.reshape(-1, self.out_channels)
        positions = self._out_hw[0] * self._out_hw[1]
        # dC/dcols per kernel tap: (kh, kw, O, C) weights give (kh, kw, N·Ho·Wo, C) columns,
        # kh·kw matrix products of the same total cost as one, in col2im's preferred order.
        tap_weights = self.params["W"].transpose(2, 3, 0, 1)
        padded_shape = (n, h + 2 * ph, w + 2 * pw, self.in_channels)
        d_x = xp.empty(padded_shape, dtype=g.dtype) if self.input_grad_needed else None

        def backprop(s):  # the images of slice s, on one core: their share of dC/dW, dC/db
            rows = slice(s.start * positions, s.stop * positions)
            g_s = g[rows]
            if d_x is not None:
                col2im(g_s @ tap_weights, d_x[s], self.stride, *self._out_hw)
            # [cols 1]ᵀ·g = [dC/dWᵀ; dC/dbᵀ] (this orientation runs faster than gᵀ·[cols 1])
            return (self._cols[rows].T @ g_s,)

        (d_weights,) = parallel.sum_over_slices(n, backprop)
        kh, kw = self.kernel_size
        self.grads["W"][...] = d_weights[:-1].reshape(kh, kw, self.in_channels, self.out_channels
                                                      ).transpose(3, 2, 0, 1)
        self.grads["b"][...] = d_weights[-1]
        if d_x is None:
            return None
        return d_x[:, ph : ph + h, pw : pw + w, :]

    def _winograd_backward(self, g):
        n, c = len(g), self.in_channels
        t = winograd.transforms(g.dtype)
        tiles = self._tiles_per_image()
        d_x = (backend.xp.empty((n, *self._in_hw, c), dtype=g.dtype)
               if self.input_grad_needed else None)

        def backprop(s):  # the images of piece s: their share of dC/dU, dC/db
            d_u = winograd.backward(g[s], self._v[:, s.start * tiles : s.stop * tiles], self._u,
                                    t, self.pad, None if d_x is None else d_x[s])
            return d_u, backend.column_sums(g[s].reshape(-1, self.out_channels))

        d_u, d_bias = parallel.sum_over_slices(n, backprop, self._image_bytes(g.itemsize),
                                               WINOGRAD_PIECE_BYTES)
        self.grads["W"][...] = winograd.kernel_gradient(d_u, t)
        self.grads["b"][...] = d_bias
        return d_x

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
