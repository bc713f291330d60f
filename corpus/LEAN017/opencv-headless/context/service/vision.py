import cv2
import numpy as np


def detect(data: bytes):
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    return cv2.CascadeClassifier().detectMultiScale(img)
