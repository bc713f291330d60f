import sys

import numpy as np

from . import __version__
from .model import Model
from .server import main

SAMPLE = [[5.1, 3.5, 1.4, 0.2], [6.2, 2.9, 4.3, 1.3], [7.7, 3.0, 6.1, 2.3]]


def selftest():
    model = Model()
    proba = model.predict_proba(SAMPLE)
    print("inference %s numpy %s" % (__version__, np.__version__))
    print("features %d" % model.n_features)
    print("predictions %s" % " ".join(model.predict(SAMPLE)))
    print("proba %s" % np.round(proba, 3).tolist())
    return 0


if __name__ == "__main__":
    sys.exit(selftest() if "--selftest" in sys.argv else main())
