"""A two-layer MLP whose weights live in a .npz file (exported from the training notebook)."""
import os

import numpy as np

CLASSES = ("setosa", "versicolor", "virginica")
DEFAULT_MODEL = os.environ.get("MODEL_PATH", "model/model.npz")


class Model:
    def __init__(self, path=DEFAULT_MODEL):
        with np.load(path) as w:
            self.mean, self.std = w["mean"], w["std"]
            self.w1, self.b1 = w["w1"], w["b1"]
            self.w2, self.b2 = w["w2"], w["b2"]
        self.path = path

    @property
    def n_features(self):
        return self.w1.shape[0]

    def predict_proba(self, x):
        x = (np.atleast_2d(np.asarray(x, dtype=np.float64)) - self.mean) / self.std
        h = np.maximum(x @ self.w1 + self.b1, 0.0)
        z = h @ self.w2 + self.b2
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def predict(self, x):
        return [CLASSES[i] for i in self.predict_proba(x).argmax(axis=1)]
