"""Idioms of how a script runs as a program: __file__ and __name__, a sibling import, warnings
filters, logging.basicConfig, a tqdm bar, os.chdir, a SIGINT handler, atexit, sys.exit(3).

Each idiom prints one tagged line (or writes a file the test compares), so that each test's claim
stays separate.
"""

import atexit
import logging
import os
import signal
import sys
import warnings

import helpers
import torch
from torch import nn
from tqdm import tqdm

print("[file]", os.path.basename(__file__), os.path.isabs(__file__), __name__)
print("[file]", os.path.dirname(os.path.abspath(__file__)) == os.getcwd(), sys.argv[1:])
print("[sibling]", helpers.__name__, os.path.basename(helpers.__file__))

warnings.filterwarnings("ignore", message="hidden by the script's filter")
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    warnings.warn("recorded")
print("[warnings]", [str(w.message) for w in caught])

logging.basicConfig(level=logging.INFO, format="%(levelname)s:%(name)s:%(message)s")
log = logging.getLogger("train")
print("[logging]", len(logging.getLogger().handlers), logging.getLogger().level)

received = []
signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))


def goodbye() -> None:
    print("[atexit] handler ran")
    with open("atexit.txt", "w") as handle:
        handle.write("written at exit\n")


atexit.register(goodbye)

torch.manual_seed(0)
x, y = helpers.make_data()
model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
bar_format = "{desc}: {n_fmt}/{total_fmt} |{bar}|"
for step in tqdm(range(12), desc="training", bar_format=bar_format, mininterval=0, ascii=True):
    optimizer.zero_grad()
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    optimizer.step()
    if step == 0:
        nn.functional.mse_loss(model(x)[:, :1], y.float())  # warns about the line calling it
        warnings.warn("hidden by the script's filter")
        warnings.warn("shown once, from the first step")
    if step == 1:
        warnings.warn("shown once, from the first step")
        log.info("second step")

os.kill(os.getpid(), signal.SIGINT)
print("[sigint]", received == [signal.SIGINT])

try:
    os.makedirs("outputs", exist_ok=True)
    os.chdir("outputs")
    with open("log.txt", "w") as handle:
        handle.write(f"final loss {loss.item():.6f}\n")
    print("[chdir]", os.path.basename(os.getcwd()), os.path.exists("log.txt"))
    os.chdir("..")
except OSError as error:  # printed, so that the idioms after this one still run
    print("[chdir] raised", type(error).__name__)
sys.exit(3)
