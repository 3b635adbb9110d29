"""The kernel for ``Conv2D`` (reference: ``layers/convolution.py``).

Three things make it faster than the reference's im2col, with the same results:

* memory stays channels-last: the output's NCHW view has the strides of an NHWC array (like
  PyTorch's ``channels_last``), which the product produces for free and the next convolution
  reads without a copy, and patch rows are long contiguous runs;
* the bias rides in the product, as a column of ones in ``cols`` and a row b under Wᵀ;
* 3x3 convolutions with stride 1 and at least :data:`WINOGRAD_MIN_CHANNELS` input channels
  use Winograd's F(4x4, 3x3) (``winograd.py``), a quarter of the multiplications.

Each core takes its own slice of the images (``parallel``); Winograd works through smaller
pieces of the batch, whose tiles stay in the CPU's caches.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import as_strided

from barenet.fast import parallel, winograd
from barenet.fast.dense import column_sums
from barenet.fast.kernel import Kernel
from barenet.layers.convolution import conv_output_size

WINOGRAD_MIN_CHANNELS = 16
"""Fewer input channels make the 36 products of the transformed tiles too thin to beat one
im2col product (crossover between 8 and 16 channels on a 2-core AMD EPYC)."""

WINOGRAD_PIECE_BYTES = 1 << 18
"""Input bytes of the pieces a Winograd convolution works through (10 images of 14x14x32)."""


def im2col(x, kh: int, kw: int, stride: int, out_h: int, out_w: int, out) -> None:
    """(N, H, W, C) channels-last images -> ``out`` (N·out_h·out_w, kh·kw·C), patches in
    (i, j, c) order."""
    n, _, _, c = x.shape
    if kw * c >= 8:
        # For fixed (n, r, s, i) the kw·C values of a patch row are contiguous in x: the copy
        # of the strided view runs over long contiguous runs.
        x = np.ascontiguousarray(x)
        s_n, s_h, s_w, s_c = x.strides
        patches = as_strided(x, (n, out_h, out_w, kh, kw * c),
                             (s_n, stride * s_h, stride * s_w, s_h, s_c), writeable=False)
        out.reshape(patches.shape)[...] = patches
        return
    # Few channels (a first layer): runs too short for that; one kernel tap at a time.
    cols = out.reshape(n, out_h, out_w, kh, kw, c)
    for i in range(kh):
        for j in range(kw):
            cols[:, :, :, i, j, :] = x[:, i : i + stride * out_h : stride,
                                       j : j + stride * out_w : stride, :]


def col2im(tap_cols, out, stride: int, out_h: int, out_w: int) -> None:
    """The adjoint of :func:`im2col` from tap-major columns: ``tap_cols[i, j]`` (N·out_h·out_w,
    C) added onto the pixels of ``out`` (N, H, W, C) that tap (i, j) read."""
    kh, kw = tap_cols.shape[:2]
    n, _, _, c = out.shape
    out[...] = 0
    for i in range(kh):
        for j in range(kw):
            out[:, i : i + stride * out_h : stride, j : j + stride * out_w : stride, :] += \
                tap_cols[i, j].reshape(n, out_h, out_w, c)


class Conv2DKernel(Kernel):
    def __init__(self, layer):
        super().__init__(layer)
        self.winograd = (layer.kernel_size == (3, 3) and layer.stride == 1
                         and layer.in_channels >= WINOGRAD_MIN_CHANNELS)

    def forward(self, x, training: bool):
        layer = self.layer
        (kh, kw), (ph, pw) = layer.kernel_size, layer.pad
        n, _, h, w = x.shape
        self.in_hw = (h, w)
        self.out_hw = (conv_output_size(h, kh, layer.stride, ph),
                       conv_output_size(w, kw, layer.stride, pw))
        y = np.empty((n, *self.out_hw, layer.out_channels), dtype=x.dtype)
        if self.winograd:
            self._winograd_forward(x, y)
        else:
            self._im2col_forward(x, y)
        return y.transpose(0, 3, 1, 2)

    def backward(self, grad, input_grad: bool = True):
        g = np.ascontiguousarray(grad.transpose(0, 2, 3, 1))  # no copy when channels-last
        backward = self._winograd_backward if self.winograd else self._im2col_backward
        d_x = backward(g, input_grad)
        return None if d_x is None else d_x.transpose(0, 3, 1, 2)

    # -- im2col -----------------------------------------------------------------------------
    def _im2col_forward(self, x, y):
        layer = self.layer
        (kh, kw), (ph, pw) = layer.kernel_size, layer.pad
        n, positions = len(x), math.prod(self.out_hw)
        depth = kh * kw * layer.in_channels
        self.cols = np.empty((n * positions, depth + 1), dtype=x.dtype)  # [cols 1]
        y = y.reshape(n * positions, layer.out_channels)
        w = layer.params["W"].transpose(2, 3, 1, 0).reshape(-1, layer.out_channels)
        weights = np.concatenate([w, layer.params["b"][None]])  # [Wᵀ; b]

        def convolve(s):  # the images of slice s, on one core
            rows = slice(s.start * positions, s.stop * positions)
            x_s = x[s].transpose(0, 2, 3, 1)
            if ph or pw:
                x_s = np.pad(x_s, ((0, 0), (ph, ph), (pw, pw), (0, 0)))
            im2col(x_s, kh, kw, layer.stride, *self.out_hw, out=self.cols[rows, :depth])
            self.cols[rows, depth] = 1
            np.matmul(self.cols[rows], weights, out=y[rows])

        parallel.for_slices(n, convolve)

    def _im2col_backward(self, g, input_grad):
        layer = self.layer
        n, (h, w), (ph, pw) = len(g), self.in_hw, layer.pad
        g = g.reshape(-1, layer.out_channels)
        positions = math.prod(self.out_hw)
        tap_weights = layer.params["W"].transpose(2, 3, 0, 1)  # (kh, kw, O, C)
        d_x = np.empty((n, h + 2 * ph, w + 2 * pw, layer.in_channels), dtype=g.dtype) \
            if input_grad else None

        def backprop(s):  # the images of slice s: their share of [dC/dWᵀ; dC/dbᵀ]
            rows = slice(s.start * positions, s.stop * positions)
            if d_x is not None:
                col2im(g[rows] @ tap_weights, d_x[s], layer.stride, *self.out_hw)
            return (self.cols[rows].T @ g[rows],)

        (d_weights,) = parallel.sum_over_slices(n, backprop)
        kh, kw = layer.kernel_size
        layer.grads["W"] = np.ascontiguousarray(d_weights[:-1].reshape(
            kh, kw, layer.in_channels, layer.out_channels).transpose(3, 2, 0, 1))
        layer.grads["b"] = d_weights[-1].copy()
        return None if d_x is None else d_x[:, ph : ph + h, pw : pw + w, :]

    # -- Winograd ---------------------------------------------------------------------------
    def _tiles_per_image(self) -> int:
        return math.prod(winograd.blocks(*self.out_hw))

    def _image_bytes(self, itemsize: int) -> int:
        """Bytes of one input image: both passes cut the batch by it, at the same places."""
        return math.prod(self.in_hw) * self.layer.in_channels * itemsize

    def _winograd_forward(self, x, y):
        layer = self.layer
        t = winograd.transforms(x.dtype)
        self.u = winograd.kernel_transform(layer.params["W"], t)
        tiles = self._tiles_per_image()
        self.v = np.empty((winograd.TILE ** 2, len(x) * tiles, layer.in_channels), dtype=x.dtype)

        def convolve(s):  # the images of piece s
            winograd.forward(x[s].transpose(0, 2, 3, 1), layer.pad, self.u, layer.params["b"], t,
                             out=y[s], v=self.v[:, s.start * tiles : s.stop * tiles])

        parallel.for_slices(len(x), convolve, self._image_bytes(x.itemsize), WINOGRAD_PIECE_BYTES)

    def _winograd_backward(self, g, input_grad):
        layer = self.layer
        t = winograd.transforms(g.dtype)
        tiles = self._tiles_per_image()
        d_x = np.empty((len(g), *self.in_hw, layer.in_channels), dtype=g.dtype) \
            if input_grad else None

        def backprop(s):  # the images of piece s: their share of dC/dU, dC/db
            d_u = winograd.backward(g[s], self.v[:, s.start * tiles : s.stop * tiles], self.u,
                                    t, layer.pad, None if d_x is None else d_x[s])
            return d_u, column_sums(g[s].reshape(-1, layer.out_channels))

        d_u, d_bias = parallel.sum_over_slices(len(g), backprop, self._image_bytes(g.itemsize),
                                               WINOGRAD_PIECE_BYTES)
        layer.grads["W"] = np.ascontiguousarray(winograd.kernel_gradient(d_u, t))
        layer.grads["b"] = d_bias
        return d_x
