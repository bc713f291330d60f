import cv2


def detect(img):
    cv2.imshow('debug', img)
    cv2.waitKey(1)
