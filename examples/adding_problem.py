"""The adding problem (Hochreiter and Schmidhuber, 1997): a test of memory through time.

Each sequence has T = 100 steps of two features: a random value in [0, 1] and a marker, 1 at
two steps (one in each half) and 0 elsewhere. The target is the sum of the two marked values.
Predicting the mean, 1, scores an MSE of about 0.167; a network does better only if its
gradients reach back to the marked steps through up to 100 steps. LSTM and GRU learn it;
SimpleRNN's gradients fade on the way and it stays near 0.167.

Run: python examples/adding_problem.py [--steps 3000]
"""

import argparse

import numpy as np

import barenet as bn


def sequences(n: int, steps: int, rng: np.random.Generator):
    values = rng.random((n, steps))
    marks = np.zeros((n, steps))
    rows = np.arange(n)
    first, second = rng.integers(0, steps // 2, n), rng.integers(steps // 2, steps, n)
    marks[rows, first] = marks[rows, second] = 1
    x = np.stack([values, marks], axis=2).astype(np.float32)
    return x, (values[rows, first] + values[rows, second])[:, None].astype(np.float32)


def train(layer, steps: int, length: int = 100, batch: int = 64, seed: int = 0) -> float:
    """Test MSE after ``steps`` optimizer steps of Adam 1e-2 on fresh batches."""
    rng = np.random.default_rng(seed)
    x, y = sequences(steps * batch, length, rng)
    xt, yt = sequences(1000, length, rng)
    bn.seed(seed)
    net = (bn.Sequential([layer, bn.Dense(layer.units, 1, init="glorot_uniform"), bn.Identity()],
                         input_shape=(length, 2))
           .compile(bn.Adam(1e-2, clipnorm=1.0), bn.MSE()))
    net.fit(x, y, epochs=1, batch_size=batch, seed=seed, verbose=False)
    return net.evaluate(xt, yt)["loss"]


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=3000, help="optimizer steps of batch 64")
    p.add_argument("--length", type=int, default=100, help="T, the sequences' length")
    args = p.parse_args(argv)
    results = {}
    for name, layer in (("LSTM", bn.LSTM(64)), ("GRU", bn.GRU(64)),
                        ("SimpleRNN", bn.SimpleRNN(64))):
        results[name] = train(layer, args.steps, args.length)
        print(f"{name:<10} test MSE {results[name]:.4f}   (the mean guess: 0.167)", flush=True)
    return results


if __name__ == "__main__":
    main()
