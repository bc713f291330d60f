import sys

import numpy as np

from .server import main

if __name__ == '__main__':
    sys.exit(main())
