"""A two-layer GPT-2 trained from scratch with the Hugging Face Trainer on counting sequences."""

import math
import tempfile

import torch
from torch.utils.data import Dataset
from transformers import GPT2Config, GPT2LMHeadModel, Trainer, TrainingArguments

VOCAB = 40
LENGTH = 16


class CountingSequences(Dataset):
    """Each sequence counts modulo VOCAB from a random start with a random stride of 1 to 5:
    after two tokens the rest is predictable."""

    def __init__(self, size: int, seed: int):
        gen = torch.Generator().manual_seed(seed)
        start = torch.randint(0, VOCAB, (size, 1), generator=gen)
        stride = torch.randint(1, 6, (size, 1), generator=gen)
        self.ids = (start + stride * torch.arange(LENGTH)) % VOCAB

    def __len__(self):
        return len(self.ids)

    def __getitem__(self, i):
        return {"input_ids": self.ids[i], "labels": self.ids[i]}


def main():
    torch.manual_seed(0)
    config = GPT2Config(
        vocab_size=VOCAB,
        n_positions=LENGTH,
        n_embd=64,
        n_layer=2,
        n_head=4,
        bos_token_id=0,
        eos_token_id=0,
    )
    model = GPT2LMHeadModel(config)
    with tempfile.TemporaryDirectory() as workdir:
        args = TrainingArguments(
            output_dir=workdir,
            max_steps=150,
            per_device_train_batch_size=32,
            per_device_eval_batch_size=64,
            learning_rate=3e-3,
            warmup_steps=15,
            weight_decay=0.01,
            eval_strategy="steps",
            eval_steps=50,
            logging_steps=25,
            save_strategy="no",
            report_to="none",
            use_cpu=True,
            disable_tqdm=True,
            seed=0,
            dataloader_num_workers=0,
        )
        trainer = Trainer(
            model=model,
            args=args,
            train_dataset=CountingSequences(4000, seed=1),
            eval_dataset=CountingSequences(256, seed=2),
        )
        trainer.train()
        val_loss = trainer.evaluate()["eval_loss"]
    print(f"val loss {val_loss:.4f}  val perplexity {math.exp(val_loss):.2f}")


if __name__ == "__main__":
    main()
