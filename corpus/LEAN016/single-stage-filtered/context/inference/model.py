import numpy as np


class Model:
    pass
