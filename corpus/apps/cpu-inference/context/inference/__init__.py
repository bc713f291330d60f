"""CPU inference service for the iris-style classifier."""
__version__ = "1.4.0"
