import cv2
import numpy as np
import torch

img = cv2.imread('in.png')
print(torch.from_numpy(np.asarray(img)).shape)
