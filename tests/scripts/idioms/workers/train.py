"""DataLoader workers started with the spawn and forkserver methods: each worker process imports
this file again as ``__mp_main__`` and writes what it saw into the working folder.

The dataset and the worker init function live in this file, so they reach the workers by
re-importing it; each sample a worker loads is also written to ``samples/``.
"""

import os

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

IMPORTED_AS = __name__


class Squares(Dataset):
    def __len__(self) -> int:
        return 24

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        os.makedirs("samples", exist_ok=True)
        with open(os.path.join("samples", f"{index}.txt"), "w") as handle:
            handle.write(f"{index}\n")
        x = torch.full((3,), float(index) / 24)
        return x, torch.tensor(index % 2)


def note_worker(worker_id: int) -> None:
    info = torch.utils.data.get_worker_info()
    method = torch.multiprocessing.get_start_method(allow_none=True)
    with open(f"worker-{info.dataset.tag}-{worker_id}.txt", "w") as handle:
        handle.write(f"{IMPORTED_AS} {method}\n")


if __name__ == "__main__":
    torch.manual_seed(0)
    model = nn.Linear(3, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for method in ("spawn", "forkserver"):
        dataset = Squares()
        dataset.tag = method
        loader = DataLoader(
            dataset,
            batch_size=6,
            num_workers=1,
            multiprocessing_context=method,
            worker_init_fn=note_worker,
        )
        sums = []
        for x, y in loader:
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            optimizer.step()
            sums.append(round(float(x.sum()), 4))
        print(f"[{method}]", sums)
