"""Pooling: max and average over windows, and the global average over each channel map."""

from __future__ import annotations

from barenet import backend, parallel
from barenet.layers.base import Layer, Shape, shape_mismatch
from barenet.layers.convolution import conv_output_size, pair


class _Pool2D(Layer):
    """Shared shape logic: windows of ``pool_size`` every ``stride`` pixels, no padding; rows
    and columns that do not fill a window are dropped (PyTorch's default floor mode)."""

    splits_work = True

    def __init__(self, pool_size=2, stride=None):
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

    def _taps(self, out_h: int, out_w: int):
        """For each window offset (i, j): the slice of the input it reads at every position."""
        (ph, pw), (sh, sw) = self.pool_size, self.stride
        for i in range(ph):
            for j in range(pw):
                yield (..., slice(i, i + sh * out_h, sh), slice(j, j + sw * out_w, sw))

    def get_config(self) -> dict:
        return {"pool_size": list(self.pool_size), "stride": list(self.stride)}


class MaxPool2D(_Pool2D):
    """Y = the maximum of each window.

    Backward: each window's gradient goes to its arg-max alone (the first one on ties), since
    only that input moved the output.
    """

    def forward(self, x, training: bool = False):
        xp = backend.xp
        taps = list(self._taps(*self.output_shape(x.shape[1:])[1:]))
        # *_like keeps x's memory layout (a convolution's output is channels-last), so every
        # step below walks memory in order instead of transposing it.
        y = xp.empty_like(x[taps[0]])
        # Inference needs no arg-max: it is found later, if a backward pass asks.
        argmax = xp.empty_like(y, dtype=xp.int8 if len(taps) < 128 else xp.int32) \
            if training else None
        self._x, self._y, self._argmax = x, y, argmax

        def pool(s):  # the images of slice s, on one core
            x_s, y_s = x[s], y[s]
            y_s[...] = x_s[taps[0]]
            if argmax is None:
                for tap in taps[1:]:
                    xp.maximum(y_s, x_s[tap], out=y_s)
                return
            argmax_s = argmax[s]
            argmax_s[...] = 0
            for k, tap in enumerate(taps[1:], start=1):
                window = x_s[tap]
                better = window > y_s  # strict: ties keep the earlier tap
                xp.maximum(y_s, window, out=y_s)
                # argmax = k where better: arithmetic on int8 beats a masked copy by far.
                argmax_s += better * (k - argmax_s)

        parallel.for_slices(len(x), pool, x[:1].nbytes)
        return y

    def _first_argmax(self, taps):
        """The first tap of each window that holds its maximum (after an inference forward)."""
        xp = backend.xp
        argmax = xp.full_like(self._y, len(taps), dtype=xp.int32)
        for k in reversed(range(len(taps))):  # the last write wins: the first tap
            argmax[self._x[taps[k]] == self._y] = k
        return argmax

    def backward(self, grad_out):
        xp = backend.xp
        taps = list(self._taps(*grad_out.shape[2:]))
        argmax = self._argmax if self._argmax is not None else self._first_argmax(taps)
        overlapping = any(s < p for s, p in zip(self.stride, self.pool_size, strict=True))
        covered = not overlapping and all(  # the windows tile the input exactly
            n * s == size for n, s, size in zip(grad_out.shape[2:], self.stride,
                                                self._x.shape[2:], strict=True))
        dx = xp.empty_like(self._x, dtype=grad_out.dtype)

        def route(s):  # the images of slice s, on one core
            g, dx_s, argmax_s = grad_out[s], dx[s], argmax[s]
            if g.strides != self._y[s].strides:
                # Give the gradient the memory layout of the output (channels-last after a
                # convolution): one small copy, then every step below walks memory in order.
                g = xp.empty_like(self._y[s], dtype=g.dtype)
                g[...] = grad_out[s]
            if not covered:  # pixels outside every window, or in several, start from zero
                dx_s[...] = 0
            for k, tap in enumerate(taps):
                if overlapping:
                    dx_s[tap] += g * (argmax_s == k)
                else:  # each input pixel is in one window: write instead of add
                    xp.multiply(g, argmax_s == k, out=dx_s[tap])

        parallel.for_slices(len(dx), route, dx[:1].nbytes)
        return dx


class AvgPool2D(_Pool2D):
    """Y = the mean of each window;  every input of a window gets dC/dY / (ph·pw)."""

    def forward(self, x, training: bool = False):
        out_shape = self.output_shape(x.shape[1:])
        taps = list(self._taps(*out_shape[1:]))
        y = x[taps[0]].copy()
        for tap in taps[1:]:
            y += x[tap]
        y /= len(taps)
        self._x_shape = x.shape
        return y

    def backward(self, grad_out):
        dx = backend.xp.zeros(self._x_shape, dtype=grad_out.dtype)
        share = grad_out / (self.pool_size[0] * self.pool_size[1])
        for tap in self._taps(*grad_out.shape[2:]):
            dx[tap] += share
        return dx


class GlobalAvgPool2D(Layer):
    """(N, C, H, W) -> (N, C): Y[n, c] = mean of X[n, c];  dC/dX = dC/dY / (H·W) everywhere."""

    def output_shape(self, input_shape: Shape) -> Shape:
        if len(input_shape) != 3:
            raise shape_mismatch(self, "(C, H, W)", input_shape)
        return (input_shape[0],)

    def forward(self, x, training: bool = False):
        self._x_shape = x.shape
        return x.mean(axis=(2, 3))

    def backward(self, grad_out):
        n, c, h, w = self._x_shape
        g = grad_out[:, :, None, None] / (h * w)
        return backend.xp.broadcast_to(g, self._x_shape).copy()
