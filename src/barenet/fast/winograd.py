"""3x3 convolutions with stride 1 by Winograd's minimal filtering F(4x4, 3x3).

A 4x4 block of outputs of a 3x3 kernel reads a 6x6 tile of the input.  Computed directly it
takes 16·9 = 144 multiplications per channel pair; F(4x4, 3x3) takes 36 (Lavin & Gray, "Fast
Algorithms for Convolutional Neural Networks", 2016).  With d a 6x6 input tile and g a 3x3
kernel, the 4x4 output block is::

    y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A

and summed over input channels, the element-wise product becomes one matrix product per
position ξ of the 6x6 transformed tile::

    V[ξ] = (Bᵀ d B)[ξ]    (tiles, C)     transformed input tiles
    U[ξ] = (G g Gᵀ)[ξ]    (C, O)         transformed kernels
    M[ξ] = V[ξ] · U[ξ]    (tiles, O)     36 products of a quarter of im2col's arithmetic
    y    = Aᵀ M A                        back to 4x4 output blocks

Each two-sided transform X -> Pᵀ X P is one product with the Kronecker matrix Pᵀ ⊗ Pᵀ, which
acts on the 36 (or 16, or 9) values of a tile at once.  Everything is linear, so the backward
pass runs the same steps transposed: dM = A dY Aᵀ, dU[ξ] = V[ξ]ᵀ dM[ξ], dV[ξ] = dM[ξ] U[ξ]ᵀ,
then dW = Gᵀ dU G and dX = B dV Bᵀ added back onto the overlapping tiles.

In exact arithmetic the result is the convolution itself; in float32 it differs from im2col's
by about 1e-6 relative (the transforms hold factors up to 8 and down to 1/24).
"""

from __future__ import annotations

import functools

import numpy as np
from numpy.lib.stride_tricks import as_strided

TILE = 6  # α: input tile side
BLOCK = 4  # m: output block side, TILE = BLOCK + 3 - 1

# Interpolation points 0, 1, -1, 2, -2 and ∞ (Lavin & Gray, section 4.2).
_BT = np.array([[4, 0, -5, 0, 1, 0],
                [0, -4, -4, 1, 1, 0],
                [0, 4, -4, -1, 1, 0],
                [0, -2, -1, 2, 1, 0],
                [0, 2, -1, -2, 1, 0],
                [0, 4, 0, -5, 0, 1]], dtype=np.float64)
_G = np.array([[1 / 4, 0, 0],
               [-1 / 6, -1 / 6, -1 / 6],
               [-1 / 6, 1 / 6, -1 / 6],
               [1 / 24, 1 / 12, 1 / 6],
               [1 / 24, -1 / 12, 1 / 6],
               [0, 0, 1]], dtype=np.float64)
_AT = np.array([[1, 1, 1, 1, 1, 0],
                [0, 1, -1, 2, -2, 0],
                [0, 1, 1, 4, 4, 0],
                [0, 1, -1, 8, -8, 1]], dtype=np.float64)

# Column ξ = (1, 1) of Aᵀ ⊗ Aᵀ is all ones: adding b to M[ONES] adds b to all 16 outputs.
ONES = 1 * TILE + 1


def _kron(matrix, dtype):
    return np.kron(matrix, matrix).astype(dtype)


class Transforms:
    """The three Kronecker matrices in one dtype: input (36, 36), kernel (36, 9) and output
    (16, 36)."""

    def __init__(self, dtype):
        self.input = _kron(_BT, dtype)
        self.kernel = _kron(_G, dtype)
        self.output = _kron(_AT, dtype)


@functools.cache
def transforms(dtype: np.dtype) -> Transforms:
    """The transforms in ``dtype``, made once."""
    return Transforms(dtype)


def blocks(out_h: int, out_w: int) -> tuple[int, int]:
    """Output blocks along each axis: ⌈Ho/4⌉, ⌈Wo/4⌉ (the last ones may stick out)."""
    return -(-out_h // BLOCK), -(-out_w // BLOCK)


def kernel_transform(w, t: Transforms):
    """W (O, C, 3, 3) -> U (36, C, O)."""
    o, c = w.shape[:2]
    return (t.kernel @ w.transpose(2, 3, 1, 0).reshape(9, c * o)).reshape(TILE * TILE, c, o)


def kernel_gradient(d_u, t: Transforms):
    """dC/dU (36, C, O) -> dC/dW (O, C, 3, 3)."""
    c, o = d_u.shape[1:]
    return (t.kernel.T @ d_u.reshape(TILE * TILE, c * o)).reshape(3, 3, c, o).transpose(3, 2, 0, 1)


def input_tiles(padded, th: int, tw: int):
    """Padded images (n, 4·th + 2, 4·tw + 2, C) -> their 6x6 tiles, tile position first:
    (36, n·th·tw·C), a strided view of overlapping windows copied once."""
    n, _, _, c = padded.shape
    s_n, s_h, s_w, s_c = padded.strides
    view = as_strided(padded, (TILE, TILE, n, th, tw, c),
                      (s_h, s_w, s_n, BLOCK * s_h, BLOCK * s_w, s_c), writeable=False)
    return np.ascontiguousarray(view).reshape(TILE * TILE, -1)


def forward(x, pad, u, bias, t: Transforms, out, v) -> None:
    """A few images (a cache-sized piece of the batch): ``x`` (n, H, W, C) channels-last,
    ``pad`` (ph, pw) zeros on each side, ``u`` from :func:`kernel_transform`.  Writes Y
    (n, Ho, Wo, O) into ``out``, and V (36, n·th·tw, C), which the backward pass needs, into
    ``v``."""
    n, h, w, c = x.shape
    (ph, pw), (th, tw) = pad, blocks(*out.shape[1:3])
    padded = np.zeros((n, BLOCK * th + 2, BLOCK * tw + 2, c), dtype=x.dtype)
    padded[:, ph : ph + h, pw : pw + w] = x
    np.matmul(t.input, input_tiles(padded, th, tw), out=v.reshape(TILE * TILE, -1))
    m = np.matmul(v, u)  # (36, tiles, O)
    m[ONES] += bias
    y = (t.output @ m.reshape(TILE * TILE, -1)).reshape(BLOCK, BLOCK, n, th, tw, -1)
    _scatter_blocks(y, out)


def _scatter_blocks(y, out) -> None:
    """Output blocks (4, 4, n, th, tw, O) -> images ``out`` (n, Ho, Wo, O), cropping the
    blocks that stick out."""
    n, th, tw, o = y.shape[2:]
    out_h, out_w = out.shape[1:3]
    full = out if (out_h, out_w) == (BLOCK * th, BLOCK * tw) else \
        np.empty((n, BLOCK * th, BLOCK * tw, o), dtype=out.dtype)
    full.reshape(n, th, BLOCK, tw, BLOCK, o)[...] = y.transpose(2, 3, 0, 4, 1, 5)
    if full is not out:
        out[...] = full[:, :out_h, :out_w]


def _gather_blocks(grad, th: int, tw: int):
    """dC/dY (n, Ho, Wo, O) -> (16, n·th·tw·O) in the layout of :func:`forward`'s blocks,
    with zeros where blocks stick out."""
    n, out_h, out_w, o = grad.shape
    if (out_h, out_w) != (BLOCK * th, BLOCK * tw):
        full = np.zeros((n, BLOCK * th, BLOCK * tw, o), dtype=grad.dtype)
        full[:, :out_h, :out_w] = grad
        grad = full
    blocks_ = grad.reshape(n, th, BLOCK, tw, BLOCK, o).transpose(2, 4, 0, 1, 3, 5)
    return np.ascontiguousarray(blocks_).reshape(BLOCK * BLOCK, -1)


def backward(grad, v, u, t: Transforms, pad, d_x=None):
    """A few images: dC/dY (n, Ho, Wo, O) channels-last and the ``v``, ``u`` of the forward
    pass -> their share of dC/dU (36, C, O).  When ``d_x`` (n, H, W, C) is given, dC/dX is
    written there."""
    n, _, _, o = grad.shape
    th, tw = blocks(*grad.shape[1:3])
    tiles, c = v.shape[1:]
    d_m = (t.output.T @ _gather_blocks(grad, th, tw)).reshape(TILE * TILE, tiles, o)
    d_u = np.matmul(v.transpose(0, 2, 1), d_m)
    if d_x is not None:
        d_v = np.matmul(d_m, u.transpose(0, 2, 1))  # (36, tiles, C)
        d_tiles = (t.input.T @ d_v.reshape(TILE * TILE, -1)).reshape(TILE, TILE, n, th, tw, c)
        d_padded = np.empty((n, BLOCK * th + 2, BLOCK * tw + 2, c), dtype=d_x.dtype)
        _add_tiles(d_tiles, d_padded)
        (ph, pw), (h, w) = pad, d_x.shape[1:3]
        d_x[...] = d_padded[:, ph : ph + h, pw : pw + w]
    return d_u


def _add_tiles(d_tiles, d_padded) -> None:
    """The adjoint of :func:`input_tiles`: tiles (6, 6, n, th, tw, C) added onto the padded
    images they were read from.  Tiles overlap by two pixels: their first 4x4 pixels cover
    the images once (a copy), and their two last rows and columns are added on top."""
    n, th, tw, c = d_tiles.shape[2:]
    rows, cols = BLOCK * th, BLOCK * tw
    d_padded[:, :rows, :cols].reshape(n, th, BLOCK, tw, BLOCK, c)[...] = \
        d_tiles[:BLOCK, :BLOCK].transpose(2, 3, 0, 4, 1, 5)
    d_padded[:, rows:] = 0
    d_padded[:, :rows, cols:] = 0
    for k in range(BLOCK, TILE):
        below = d_padded[:, k : k + rows : BLOCK, :cols].reshape(n, th, tw, BLOCK, c)
        below += d_tiles[k, :BLOCK].transpose(1, 2, 3, 0, 4)  # row k of the tiles, j < 4
        right = d_padded[:, :rows, k : k + cols : BLOCK].reshape(n, th, BLOCK, tw, c)
        right += d_tiles[:BLOCK, k].transpose(1, 2, 0, 3, 4)  # column k, i < 4
        for j in range(BLOCK, TILE):
            d_padded[:, k : k + rows : BLOCK, j : j + cols : BLOCK] += d_tiles[k, j]
