import sys

import cv2
from ultralytics import YOLO

model = YOLO("yolov8n.pt")
for path in sys.argv[1:]:
    print(model(cv2.imread(path))[0].boxes)
