"""A Hugging Face `Trainer` script: a tiny GPT-2 (random init, built from a config) learns a
synthetic language. `diagnose examples/frameworks/hf_trainer_train.py` reports it healthy.

Planted bugs, one at a time: `-- --bug lr` (LR 100x too high), `--bug frozen` (everything frozen
but the final LayerNorm), `--bug detach` (the LM head reads
detached hidden states), `--bug loss` (a custom compute_loss that regresses token ids with MSE).
"""

import argparse

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset
from transformers import GPT2Config, GPT2LMHeadModel, Trainer, TrainingArguments

parser = argparse.ArgumentParser()
parser.add_argument("--bug", choices=["none", "lr", "frozen", "detach", "loss"], default="none")
bug = parser.parse_args().bug

VOCAB, LENGTH = 64, 32


class Sequences(Dataset):
    """Walks of +1/+2/+3 steps modulo the vocabulary: a language a small model learns fast."""

    def __init__(self, n: int, seed: int) -> None:
        g = torch.Generator().manual_seed(seed)
        start = torch.randint(0, VOCAB, (n, 1), generator=g)
        steps = torch.randint(1, 4, (n, LENGTH - 1), generator=g)
        self.ids = torch.cat([start, start + steps.cumsum(1)], 1) % VOCAB

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"input_ids": self.ids[i], "labels": self.ids[i]}


class RegressionTrainer(Trainer):
    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        outputs = model(input_ids=inputs["input_ids"])
        loss = F.mse_loss(outputs.logits.mean(-1), inputs["labels"].float())
        return (loss, outputs) if return_outputs else loss


torch.manual_seed(0)
config = GPT2Config(vocab_size=VOCAB, n_positions=LENGTH, n_embd=64, n_layer=2, n_head=4)
model = GPT2LMHeadModel(config)
if bug == "frozen":  # meant to freeze the embeddings, froze everything but the final LayerNorm
    model.requires_grad_(False)
    model.transformer.ln_f.requires_grad_(True)
if bug == "detach":
    model.lm_head.register_forward_pre_hook(lambda module, args: (args[0].detach(),))
    model.transformer.wte.weight = torch.nn.Parameter(model.transformer.wte.weight.detach().clone())
args = TrainingArguments(
    output_dir="hf-out",
    per_device_train_batch_size=16,
    learning_rate=0.1 if bug == "lr" else 1e-3,
    max_steps=300,
    logging_steps=20,
    eval_strategy="steps",
    eval_steps=100,
    save_steps=100,
    report_to=[],
    use_cpu=True,
    dataloader_num_workers=0,
    seed=0,
)
trainer_class = RegressionTrainer if bug == "loss" else Trainer
trainer = trainer_class(
    model=model, args=args, train_dataset=Sequences(2048, 0), eval_dataset=Sequences(128, 1)
)
trainer.train()
