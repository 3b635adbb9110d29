"""The kernel for ``MaxPool2D`` (reference: ``layers/pooling.py``).

The reference copies every window and takes its arg-max.  This kernel walks the window
offsets instead, one strided view of the input at a time, keeping the arg-max as int8 and the
input's memory layout (channels-last after a convolution), in slices over barenet's threads.
Ties go to the first offset, as in the reference.
"""

from __future__ import annotations

import numpy as np

from barenet.fast import parallel
from barenet.fast.kernel import Kernel


class MaxPool2DKernel(Kernel):
    def _taps(self, out_h: int, out_w: int) -> list:
        """For each window offset (i, j): the slice of the input it reads at every position."""
        (ph, pw), (sh, sw) = self.layer.pool_size, self.layer.stride
        return [(..., slice(i, i + sh * out_h, sh), slice(j, j + sw * out_w, sw))
                for i in range(ph) for j in range(pw)]

    def forward(self, x, training: bool):
        taps = self._taps(*self.layer.output_shape(x.shape[1:])[1:])
        y = np.empty_like(x[taps[0]])
        # Inference needs no arg-max.
        argmax = np.empty_like(y, dtype=np.int8 if len(taps) < 128 else np.int32) \
            if training else None
        self.x, self.y, self.argmax = x, y, argmax

        def pool(s):  # the images of slice s, on one core
            x_s, y_s = x[s], y[s]
            y_s[...] = x_s[taps[0]]
            if argmax is None:
                for tap in taps[1:]:
                    np.maximum(y_s, x_s[tap], out=y_s)
                return
            argmax_s = argmax[s]
            argmax_s[...] = 0
            for k, tap in enumerate(taps[1:], start=1):
                window = x_s[tap]
                better = window > y_s  # strict: ties keep the earlier offset
                np.maximum(y_s, window, out=y_s)
                argmax_s += better * (k - argmax_s)  # = k where better; cheaper than a masked copy

        parallel.for_slices(len(x), pool, x[:1].nbytes)
        return y

    def backward(self, grad, input_grad: bool = True):
        layer = self.layer
        taps = self._taps(*grad.shape[2:])
        overlapping = any(s < p for s, p in zip(layer.stride, layer.pool_size, strict=True))
        covered = not overlapping and all(  # the windows tile the input exactly
            n * s == size for n, s, size in zip(grad.shape[2:], layer.stride,
                                                self.x.shape[2:], strict=True))
        dx = np.empty_like(self.x, dtype=grad.dtype)  # the input's memory layout
        argmax, y = self.argmax, self.y

        def route(s):  # the images of slice s, on one core
            g, dx_s, argmax_s = grad[s], dx[s], argmax[s]
            if g.strides != y[s].strides:  # one small copy into the output's memory layout
                g = np.empty_like(y[s], dtype=g.dtype)
                g[...] = grad[s]
            if not covered:  # pixels outside every window, or in several, start from zero
                dx_s[...] = 0
            for k, tap in enumerate(taps):
                if overlapping:
                    dx_s[tap] += g * (argmax_s == k)
                else:  # each input pixel is in one window: write instead of add
                    np.multiply(g, argmax_s == k, out=dx_s[tap])

        parallel.for_slices(len(dx), route, dx[:1].nbytes)
        return dx
