import argparse
import json
import os
import sys

import torch
from torch import nn
from tiny_helpers import make_data

parser = argparse.ArgumentParser()
parser.add_argument("--steps", type=int, default=60)
parser.add_argument("--tag", default="")
args = parser.parse_args()
print("ARGV=" + json.dumps(sys.argv[1:]))
print("PATH0=" + sys.path[0])
print("CWD=" + os.getcwd())

torch.manual_seed(0)
x, y = make_data()
model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 2))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
for step in range(args.steps):
    index = torch.randint(0, len(x), (32,))
    optimizer.zero_grad()
    loss = nn.functional.cross_entropy(model(x[index]), y[index])
    loss.backward()
    optimizer.step()
print(f"done {args.tag}")
