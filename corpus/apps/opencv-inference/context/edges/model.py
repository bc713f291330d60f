import os

import cv2
import numpy as np


class EdgeModel:
    def __init__(self, path: str | None = None):
        data = np.load(path or os.environ.get("MODEL_PATH", "model/edges.npz"))
        self.kernel = data["kernel"].astype(np.float32)
        self.threshold = float(data["threshold"])

    def edges(self, png: bytes) -> bytes:
        img = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)
        if img is None:
            raise ValueError("not an image")
        response = np.abs(cv2.filter2D(img.astype(np.float32), -1, self.kernel))
        _, mask = cv2.threshold(response, self.threshold, 255, cv2.THRESH_BINARY)
        ok, out = cv2.imencode(".png", mask.astype(np.uint8))
        if not ok:
            raise ValueError("cannot encode the edge map")
        return out.tobytes()
