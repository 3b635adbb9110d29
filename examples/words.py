"""A character-level GRU that learns how English words are spelled, and invents new ones.

The words are Debian's English word list (`apt-get install wamerican`, /usr/share/dict/words;
the project's `scripts/install-system-deps.sh` installs it): lower-case words of letters only,
split into training and validation words. Each character is predicted from the ten before it
(start-of-word padding included), through an Embedding, a GRU of 128 units and a softmax over
27 symbols (26 letters and end-of-word). The figure to beat is a bigram model, which predicts a
character from the one before it by counting; the report is the validation cross-entropy per
character, in nats.

Run: python examples/words.py [--words 30000] [--epochs 3]
"""

import argparse
import string
from pathlib import Path

import numpy as np

import barenet as bn

WORDS = Path("/usr/share/dict/words")
END = 0  # end of word; letters are 1..26, and the padding before a word is 27
PAD = 27
CONTEXT = 10


def load_words(limit: int, rng: np.random.Generator) -> list[str]:
    if not WORDS.exists():
        raise SystemExit(f"{WORDS} is missing: apt-get install wamerican")
    words = sorted({w.strip() for w in WORDS.read_text(encoding="utf-8", errors="ignore").split()
                    if w.strip().isascii() and w.strip().isalpha() and w.strip().islower()})
    rng.shuffle(words)
    return words[:limit]


def examples(words: list[str]):
    """(contexts (M, CONTEXT), next characters (M,)): every position of every word, the last
    one predicting END."""
    contexts, targets = [], []
    for word in words:
        codes = [PAD] * CONTEXT + [string.ascii_lowercase.index(c) + 1 for c in word] + [END]
        for i in range(CONTEXT, len(codes)):
            contexts.append(codes[i - CONTEXT : i])
            targets.append(codes[i])
    return np.array(contexts), np.array(targets)


def bigram_cross_entropy(train, valid) -> float:
    """Nats per character of add-one smoothed counts of (previous, next) pairs."""
    (xc, yc), (xv, yv) = train, valid
    counts = np.ones((28, 27))
    np.add.at(counts, (xc[:, -1], yc), 1)
    probs = counts / counts.sum(axis=1, keepdims=True)
    return float(-np.log(probs[xv[:, -1], yv]).mean())


def sample(net, rng: np.random.Generator, count: int) -> list[str]:
    words = []
    for _ in range(count):
        codes = [PAD] * CONTEXT
        while len(codes) < CONTEXT + 20:
            p = net.predict(np.array([codes[-CONTEXT:]]))[0].astype(np.float64)
            code = int(rng.choice(27, p=p / p.sum()))
            if code == END:
                break
            codes.append(code)
        words.append("".join(string.ascii_lowercase[c - 1] for c in codes[CONTEXT:]))
    return words


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--words", type=int, default=30000)
    p.add_argument("--epochs", type=int, default=3)
    args = p.parse_args(argv)
    rng = np.random.default_rng(0)
    words = load_words(args.words, rng)
    cut = len(words) * 9 // 10
    train, valid = examples(words[:cut]), examples(words[cut:])
    bigram = bigram_cross_entropy(train, valid)
    bn.seed(0)
    net = (bn.Sequential([bn.Embedding(28, 16), bn.GRU(128), bn.Dense(128, 27), bn.Softmax()],
                         input_shape=(CONTEXT,))
           .compile(bn.Adam(3e-3, clipnorm=1.0), bn.CrossEntropy()))
    print(f"{len(words)} words: {len(train[1])} training and {len(valid[1])} validation characters")
    net.fit(*train, epochs=args.epochs, batch_size=256, validation_data=valid, seed=0)
    gru = net.evaluate(*valid)["loss"]
    print(f"validation cross-entropy per character: GRU {gru:.3f} nats, bigram counts "
          f"{bigram:.3f} nats")
    invented = sample(net, rng, 12)
    print("new words:", ", ".join(invented))
    return {"gru": gru, "bigram": bigram, "samples": invented}


if __name__ == "__main__":
    main()
