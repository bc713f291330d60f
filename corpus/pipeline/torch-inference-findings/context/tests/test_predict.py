def test_nothing():
    import pytest  # noqa
