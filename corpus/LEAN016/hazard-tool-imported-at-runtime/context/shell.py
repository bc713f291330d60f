# an operator console: drops into IPython with the models loaded
import importlib

IPython = importlib.import_module('IPython')
IPython.embed()
