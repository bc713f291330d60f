import cv2
import numpy as np
import pytest

from edges.model import EdgeModel


def test_a_square_has_edges():
    img = np.zeros((16, 16), np.uint8)
    img[4:12, 4:12] = 255
    ok, png = cv2.imencode(".png", img)
    mask = cv2.imdecode(np.frombuffer(EdgeModel("model/edges.npz").edges(png.tobytes()), np.uint8), 0)
    assert (mask > 0).sum() > 0


def test_garbage_is_refused():
    with pytest.raises(ValueError):
        EdgeModel("model/edges.npz").edges(b"not a png")
