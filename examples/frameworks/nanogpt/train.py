"""A nanoGPT-style training script: a flat file of globals, a config exec'd at start, gradient
accumulation, a GradScaler, torch.compile behind a flag, estimate_loss under no_grad,
checkpoints to out_dir. `diagnose examples/frameworks/nanogpt/train.py -- config/tiny.py` reports
it healthy (run from this folder, as nanoGPT is).

Planted bugs, one at a time (after the config): `--learning_rate=1.0` (LR 1000x too high: at
100x, Adam with clipping and warmup still learns on some CPUs), `--zero_grad=False` (gradients
never cleared), `--detach_head=True` (the LM head reads detached features: only the head trains),
`--raw_scores_loss=True` (nll_loss on raw scores).
"""

import math
import os
import time

import numpy as np
import torch

from model import GPT, GPTConfig

out_dir = "out"
eval_interval = 200
eval_iters = 20
always_save_checkpoint = True
batch_size = 12
block_size = 32
gradient_accumulation_steps = 4
n_layer, n_head, n_embd, dropout = 2, 4, 64, 0.0
learning_rate = 6e-4
max_iters = 2000
weight_decay = 0.1
beta1, beta2 = 0.9, 0.95
grad_clip = 1.0
decay_lr = True
warmup_iters = 100
lr_decay_iters = 2000
min_lr = 6e-5
dtype = "bfloat16" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "float32"
compile = False
zero_grad = True
detach_head = False
raw_scores_loss = False
config_keys = [k for k, v in globals().items() if not k.startswith("_") and isinstance(v, (int, float, bool, str))]
exec(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "configurator.py")).read())
config = {k: globals()[k] for k in config_keys}

torch.manual_seed(1337)
os.makedirs(out_dir, exist_ok=True)
vocab_size = 64
rng = np.random.default_rng(0)
walk = (rng.integers(0, vocab_size) + np.cumsum(rng.integers(1, 4, size=200_000))) % vocab_size
train_data, val_data = walk[:180_000].astype(np.uint16), walk[180_000:].astype(np.uint16)


def get_batch(split: str) -> tuple[torch.Tensor, torch.Tensor]:
    data = train_data if split == "train" else val_data
    ix = torch.randint(len(data) - block_size, (batch_size,))
    x = torch.stack([torch.from_numpy(data[i:i + block_size].astype(np.int64)) for i in ix])
    y = torch.stack([torch.from_numpy(data[i + 1:i + 1 + block_size].astype(np.int64)) for i in ix])
    return x, y


model = GPT(GPTConfig(block_size=block_size, vocab_size=vocab_size, n_layer=n_layer, n_head=n_head, n_embd=n_embd,
                      dropout=dropout, detach_head=detach_head, raw_scores_loss=raw_scores_loss))
scaler = torch.amp.GradScaler("cuda", enabled=(dtype == "float16"))
optimizer = model.configure_optimizers(weight_decay, learning_rate, (beta1, beta2))
if compile:
    model = torch.compile(model)


@torch.no_grad()
def estimate_loss() -> dict[str, float]:
    out = {}
    model.eval()
    for split in ("train", "val"):
        losses = torch.zeros(eval_iters)
        for k in range(eval_iters):
            X, Y = get_batch(split)
            _, loss = model(X, Y)
            losses[k] = loss.item()
        out[split] = losses.mean().item()
    model.train()
    return out


def get_lr(it: int) -> float:
    if it < warmup_iters:
        return learning_rate * (it + 1) / (warmup_iters + 1)
    if it > lr_decay_iters:
        return min_lr
    ratio = (it - warmup_iters) / (lr_decay_iters - warmup_iters)
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (learning_rate - min_lr)


X, Y = get_batch("train")
best_val_loss, t0 = 1e9, time.time()
for iter_num in range(max_iters + 1):
    lr = get_lr(iter_num) if decay_lr else learning_rate
    for group in optimizer.param_groups:
        group["lr"] = lr
    if iter_num % eval_interval == 0:
        losses = estimate_loss()
        print(f"step {iter_num}: train loss {losses['train']:.4f}, val loss {losses['val']:.4f}")
        if losses["val"] < best_val_loss or always_save_checkpoint:
            best_val_loss = losses["val"]
            if iter_num > 0:
                torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "iter_num": iter_num,
                            "best_val_loss": best_val_loss, "config": config}, os.path.join(out_dir, "ckpt.pt"))
    for micro_step in range(gradient_accumulation_steps):
        _, loss = model(X, Y)
        loss = loss / gradient_accumulation_steps
        X, Y = get_batch("train")
        scaler.scale(loss).backward()
    if grad_clip != 0.0:
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    scaler.step(optimizer)
    scaler.update()
    if zero_grad:
        optimizer.zero_grad(set_to_none=True)
    if iter_num % 50 == 0:
        print(f"iter {iter_num}: loss {loss.item() * gradient_accumulation_steps:.4f}, {time.time() - t0:.1f}s")
