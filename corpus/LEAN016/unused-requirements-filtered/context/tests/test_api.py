import httpx


def test_api():
    assert httpx
