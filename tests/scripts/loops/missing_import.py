import torch
import not_a_real_package_xyz

model = torch.nn.Linear(2, 1)
