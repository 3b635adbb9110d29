"""XOR: the design's sanity check.  No straight line separates the two classes, so a network
needs a hidden layer to learn it.  Run: python examples/xor.py"""

import numpy as np

import barenet as bn

x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
y = np.array([[0], [1], [1], [0]], dtype=np.float32)

net = (bn.Sequential()
       .push(bn.Dense(2, 8, init="glorot_uniform"))
       .push(bn.Tanh())
       .push(bn.Dense(8, 1, init="glorot_uniform"))
       .push(bn.Sigmoid())
       .watch("accuracy")
       .compile(bn.SGD(0.5, momentum=0.9), bn.BinaryCrossEntropy(), seed=0))

history = net.fit(x, y, epochs=500, batch_size=4, seed=0, verbose=False)
print(f"final cost {history['loss'][-1]:.4f}, accuracy {history['accuracy'][-1]:.2f}")
for inputs, p in zip(x, net.predict(x), strict=True):
    print(f"{inputs.astype(int)} -> {p[0]:.3f}")
