"""Writing your own layer: a parametric ReLU, checked, trained, saved and loaded.

    Y = max(X, 0) + α ⊙ min(X, 0)          α: one learned slope per feature (F,)

    dC/dX = dC/dY ⊙ (1 if X > 0 else α)
    dC/dα = Σ_rows dC/dY ⊙ min(X, 0)

A layer subclasses ``barenet.Layer`` and keeps its contract: ``forward`` keeps what
``backward`` needs; ``backward`` sets ``grads`` and returns dC/dX.  Subclassing registers it
under its class name, so saved models find it again.  Run: python examples/custom_layer.py
"""

import tempfile
from pathlib import Path

import numpy as np

import barenet as bn


class PReLU(bn.Layer):
    """A ReLU whose negative side has a learned slope per feature (He et al., 2015)."""

    def __init__(self, features: int, slope: float = 0.25):
        super().__init__()
        self.features, self.slope = features, slope
        self.build((features,))  # the parameter's shape is known: make it now

    def output_shape(self, input_shape):
        if tuple(input_shape) != (self.features,):
            raise bn.ShapeError(f"PReLU({self.features}) expects samples of shape "
                                f"({self.features},), got {tuple(input_shape)}")
        return tuple(input_shape)

    def variable_shapes(self, input_shape):
        return {"alpha": (self.features,)}

    def initialize(self, input_shape, rng, dtype):
        self.set_variables({"alpha": np.full(self.features, self.slope, dtype)})

    def forward(self, x, training=False):
        self.negative = np.minimum(x, 0)
        return np.maximum(x, 0) + self.params["alpha"] * self.negative

    def backward(self, grad_out):
        self.grads["alpha"] = (grad_out * self.negative).sum(axis=0)
        return np.where(self.negative < 0, self.params["alpha"] * grad_out, grad_out)

    def get_config(self):
        return {"features": self.features, "slope": self.slope}


def main() -> dict:
    # 1. Check the hand-written backward pass against finite differences (float64).
    error = bn.gradcheck(PReLU(5), np.random.default_rng(0).normal(size=(8, 5)))
    print(f"gradcheck: largest relative error {error:.1e}")

    # 2. Train it in a network: two interleaved spirals, which a straight line cannot split.
    rng = np.random.default_rng(0)
    t = rng.uniform(0.5, 3 * np.pi, 600)
    label = rng.integers(0, 2, 600)
    radius = t * (1 + 0.05 * rng.normal(size=600))
    x = np.stack([radius * np.cos(t + np.pi * label), radius * np.sin(t + np.pi * label)], 1)
    x = (x / 10).astype(np.float32)
    bn.seed(0)
    net = (bn.Sequential([bn.Dense(2, 32), PReLU(32), bn.Dense(32, 32), PReLU(32),
                          bn.Dense(32, 2), bn.Softmax()])
           .watch("accuracy").compile(bn.Adam(0.01), bn.CrossEntropy()))
    net.fit(x[:500], label[:500], epochs=60, batch_size=32, verbose=False)
    accuracy = net.evaluate(x[500:], label[500:])["accuracy"]
    print(f"test accuracy on the spirals: {accuracy:.1%}; learned slopes of the first PReLU: "
          f"{net.layers[1].params['alpha'][:4].round(2)}...")

    # 3. Save and load: the file names the layer type "PReLU", which loading finds again.
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "spirals.safetensors"
        net.save(path)
        again = bn.load_model(path)
    same = bool(np.array_equal(again.predict(x), net.predict(x)))
    print(f"loaded {type(again.layers[1]).__name__} layers; same predictions: {same}")
    return {"gradcheck": error, "accuracy": accuracy, "same_predictions": same}


if __name__ == "__main__":
    main()
