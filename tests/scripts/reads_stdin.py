import torch

model = torch.nn.Linear(3, 1)
epochs = int(input("how many epochs? "))
