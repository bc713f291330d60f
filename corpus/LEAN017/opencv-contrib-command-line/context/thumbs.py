import sys

import cv2

for path in sys.argv[1:]:
    img = cv2.imread(path)
    sr = cv2.dnn_superres.DnnSuperResImpl_create()
    cv2.imwrite(path + ".thumb.jpg", cv2.resize(img, (128, 128)))
