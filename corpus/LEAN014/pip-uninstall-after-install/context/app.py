import cv2, flask
