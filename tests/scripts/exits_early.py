import sys

import torch

model = torch.nn.Linear(3, 1)
print("configuration incomplete")
sys.exit(3)
