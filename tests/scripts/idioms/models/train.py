"""Idioms over a trained model and its optimizer: whole-object checkpoints, copies, pickles,
TorchScript, functional calls, the script's own hooks, type checks, names and order.

Each idiom prints one tagged line; an idiom that raises prints its exception type instead, so
that one failure does not hide the others. Every idiom runs after training began.
"""

import copy
import inspect
import pickle

import torch
from torch import nn
from torch.optim.lr_scheduler import LRScheduler, StepLR

CALLS: list[str] = []


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(6, 16), nn.BatchNorm1d(16), nn.ReLU())
        self.head = nn.Linear(16, 3)

    def forward(self, x: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
        return self.head(self.body(x)) * scale


def loss_of(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return nn.functional.cross_entropy(logits, target)


def check(tag, idiom):
    try:
        print(f"[{tag}]", idiom())
    except Exception as error:
        print(f"[{tag}] raised {type(error).__name__}")


def evaluated(module, x):
    training = module.training
    module.eval()
    with torch.no_grad():
        out = module(x)
    module.train(training)
    return out


torch.manual_seed(0)
X = torch.randn(64, 6)
Y = torch.randint(0, 3, (64,))
model = Net()
own_hooks = [
    model.register_forward_pre_hook(lambda module, args: CALLS.append("pre")),
    model.register_forward_hook(lambda module, args, out: CALLS.append("forward")),
    model.head.register_forward_hook(lambda module, args, out: CALLS.append("head")),
    model.register_full_backward_hook(lambda module, grad_in, grad_out: CALLS.append("backward")),
]
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
scheduler = StepLR(optimizer, step_size=2, gamma=0.5)
for step in range(6):
    optimizer.zero_grad()
    loss = nn.functional.cross_entropy(model(X), Y)
    loss.backward()
    optimizer.step()
    scheduler.step()
    CALLS.append("|")
for handle in own_hooks:  # hooks made of lambdas cannot be pickled or scripted: the script's own
    handle.remove()


def save_model():
    torch.save(model, "model.pt")
    loaded = torch.load("model.pt", weights_only=False)
    return type(loaded).__name__, torch.equal(evaluated(loaded, X), evaluated(model, X))


def save_optimizer():
    torch.save(optimizer, "optimizer.pt")
    loaded = torch.load("optimizer.pt", weights_only=False)
    momenta = [s["momentum_buffer"] for s in loaded.state.values()]
    return type(loaded).__name__, len(momenta), float(sum(m.abs().sum() for m in momenta))


def deepcopies():
    model_copy, optimizer_copy = copy.deepcopy(model), copy.deepcopy(optimizer)
    same = torch.equal(evaluated(model_copy, X), evaluated(model, X))
    return type(model_copy).__name__, type(optimizer_copy).__name__, same


def pickled_state():
    with open("state.pkl", "wb") as handle:
        pickle.dump(model.state_dict(), handle)
    with open("state.pkl", "rb") as handle:
        state = pickle.load(handle)
    return list(state) == list(model.state_dict()), all(
        torch.equal(a, b) for a, b in zip(state.values(), model.state_dict().values())
    )


def torchscript():
    traced = torch.jit.trace(model.eval(), X)
    scripted = torch.jit.script(model)
    model.train()
    torch.jit.save(scripted, "scripted.pt")
    loaded = torch.jit.load("scripted.pt")
    reference = evaluated(model, X)
    same = [torch.allclose(evaluated(m, X), reference) for m in (traced, scripted, loaded)]
    return [*same, torch.allclose(torch.jit.script(loss_of)(reference, Y), loss_of(reference, Y))]


def functional():
    weights = {**dict(model.named_parameters()), **dict(model.named_buffers())}
    model.eval()
    with torch.no_grad():
        out = torch.func.functional_call(model, weights, (X,), {"scale": 2.0})
    model.train()
    return torch.allclose(out, evaluated(model, X) * 2.0)


def types():
    return (
        type(optimizer) is torch.optim.SGD,
        isinstance(optimizer, torch.optim.Optimizer),
        type(scheduler) is StepLR,
        isinstance(scheduler, LRScheduler),
        type(model.forward).__name__,
        model.forward.__func__ is Net.forward,
    )


def signatures():
    return [
        str(inspect.signature(f))
        for f in (model.forward, optimizer.step, optimizer.zero_grad, scheduler.step, model.train)
    ]


check("hooks", lambda: " ".join(CALLS))
check("save_model", save_model)
check("save_optimizer", save_optimizer)
check("deepcopy", deepcopies)
check("pickle_state", pickled_state)
check("torchscript", torchscript)
check("functional_call", functional)
check("types", types)
check("signature", signatures)
check("names", lambda: [name for name, _ in model.named_parameters()] + list(model.state_dict()))
check("module_hooks", lambda: [len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules()])
