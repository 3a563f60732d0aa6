import torch

model = torch.nn.Linear(3, 1)
counter = 0
while True:
    counter += 1
