import json

import numpy as np
import torch
from sklearn.model_selection import train_test_split
from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments

VOCAB, LENGTH = 40, 16


class TokenDataset(torch.utils.data.Dataset):
    def __init__(self, ids, labels):
        self.ids = ids
        self.labels = labels

    def __len__(self):
        return len(self.ids)

    def __getitem__(self, i):
        return {"input_ids": torch.tensor(self.ids[i]), "labels": torch.tensor(self.labels[i])}


def make_sequences(n, seed):
    rng = np.random.default_rng(seed)
    ids = rng.integers(5, VOCAB, size=(n, LENGTH))
    labels = rng.integers(0, 2, size=n)
    marker = np.where(labels == 1, 3, 4)
    positions = rng.integers(1, LENGTH, size=n)
    ids[np.arange(n), positions] = marker
    ids[:, 0] = 2
    return ids, labels


def accuracy(eval_pred):
    logits, labels = eval_pred
    return {"accuracy": float((np.argmax(logits, axis=-1) == labels).mean())}


def main():
    ids, labels = make_sequences(2000, seed=9)
    ids_train, ids_val, labels_train, labels_val = train_test_split(ids, labels, test_size=0.2, random_state=9)
    config = BertConfig(vocab_size=VOCAB, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=LENGTH, num_labels=2,
                        hidden_act="gelu", hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1)
    torch.manual_seed(9)
    model = BertForSequenceClassification(config)
    args = TrainingArguments(output_dir="tinybert-out", num_train_epochs=5, per_device_train_batch_size=32,
                             per_device_eval_batch_size=200, learning_rate=2e-3, weight_decay=0.01,
                             warmup_steps=20, eval_strategy="epoch", save_strategy="no", logging_strategy="no",
                             report_to=[], disable_tqdm=True, use_cpu=True, seed=9)
    trainer = Trainer(model=model, args=args, train_dataset=TokenDataset(ids_train, labels_train),
                      eval_dataset=TokenDataset(ids_val, labels_val), compute_metrics=accuracy)
    trainer.train()
    result = trainer.evaluate()
    print(json.dumps({"val_acc": round(result["eval_accuracy"], 4), "val_loss": round(result["eval_loss"], 4)}))


if __name__ == "__main__":
    main()
