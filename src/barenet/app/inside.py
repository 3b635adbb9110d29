"""What a network makes of one drawing, layer by layer, for the page's "inside the network" view.

The image goes through the model's layers one ``forward`` at a time (the reference path), and
three things are kept:

- the input the network really received: the output of the leading layers that only prepare
  the image (``Reshape``, ``Deskew``, ...), before the first layer with parameters;
- what each convolution or dense layer made of it, after the normalisation and activation that
  follow it (the last output of the same shape): feature maps (C, H, W) or a vector of units;
- the class probabilities (the last layer's output).
"""

from __future__ import annotations

import base64

import numpy as np

from barenet.layers import BatchNorm
from barenet.model import Sequential


def look_inside(model: Sequential, pixels: np.ndarray, views: bool) -> tuple[np.ndarray, np.ndarray,
                                                                              list[dict]]:
    """(probabilities (K,), the (28, 28) input the network received, the layer views).

    Each view is ``{"layer": name, "shape": [C, H, W] or [units], "data": base64}``, the data
    being the outputs as bytes: each map (or the vector) scaled so that its largest value is
    255 (negative values count as 0).  ``views=False`` skips them.
    """
    layers, shapes = model.layers, model.layer_shapes()
    x = pixels.reshape(1, *shapes[0])
    seen, shown = None, []
    first_learning = next((i for i, layer in enumerate(layers) if layer.params), len(layers))
    keep = _kept_outputs(layers, shapes[1:]) if views else {}
    for i, layer in enumerate(layers):
        if i == first_learning:
            seen = x
        x = layer.forward(x, False)
        if i in keep:
            shown.append(_view(keep[i], x[0]))
    if seen is None or seen.size != 28 * 28:
        seen = pixels
    return x[0], np.asarray(seen, dtype=np.float32).reshape(28, 28), shown


def _kept_outputs(layers, shapes) -> dict[int, str]:
    """{index of the layer whose output to show: the name of the layer that made it}, given
    the layers and their output shapes."""
    learning = [i for i, layer in enumerate(layers) if layer.params]
    keep, covered, counts = {}, -1, {}
    for i in learning[:-1]:  # the last one's output is the guess itself
        if i <= covered:  # a batch normalisation that follows a layer already shown
            continue
        j = i
        while j + 1 < len(layers) and shapes[j + 1] == shapes[i] and \
                (not layers[j + 1].params or isinstance(layers[j + 1], BatchNorm)):
            j += 1
        covered = j
        kind = type(layers[i]).__name__
        counts[kind] = counts.get(kind, 0) + 1
        if len(shapes[i]) in (1, 3):
            keep[j] = f"{kind} {counts[kind]}"
    return keep


def _view(name: str, output: np.ndarray) -> dict:
    values = np.maximum(np.asarray(output, dtype=np.float64), 0)
    if values.ndim == 3:  # feature maps: each scaled on its own
        top = values.reshape(len(values), -1).max(axis=1)[:, None, None]
    else:
        top = values.max()
    scaled = np.round(255 * values / np.maximum(top, 1e-12)).astype(np.uint8)
    return {"layer": name, "shape": list(values.shape),
            "data": base64.b64encode(scaled.tobytes()).decode("ascii")}
