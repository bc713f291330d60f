import pytest

from inference.model import Model


def test_model():
    assert Model()
