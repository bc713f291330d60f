import torch
import torchvision

model = torchvision.models.resnet18()
print(model(torch.zeros(1, 3, 224, 224)).shape)
