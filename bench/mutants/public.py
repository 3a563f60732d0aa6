"""Recipes for the public hosts: which upstream file becomes a host, and the edits that make it one.

A recipe holds no upstream code. It names a file in a public repository (and the commit it was
written against), says which notebook cells to leave out, and lists edits as a regular expression
and its replacement, each checked to match a given number of times at extraction. The edits only
shrink a run (fewer epochs or steps, smaller layers), point the data at an offline module of
`public_data/` (downloads are impossible here: MNIST becomes images of the same shape,
IMDB and Multi30k become generated token data in the tutorials' own formats), drop imports of
packages that only served the download, and make an unseeded script seeded. `metrics` is our own
code, run at the end of the script in its namespace, that prints the host's metrics line from the
script's final state (a fixed file of the host, which operators never edit).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Edit:
    """Replace every match of `pattern` (multi-line mode) by `replacement`; it must match exactly
    `count` times."""

    pattern: str
    replacement: str
    count: int = 1


@dataclass(frozen=True)
class Recipe:
    name: str
    repo: str  # owner/name on GitHub
    commit: str  # the commit the recipe was written against (HEAD is used when it is missing)
    path: str  # the file in the repository (.py or .ipynb)
    style: str
    task: str  # a key of hosts.TASK_TAGS
    inputs: str  # as Host.inputs
    metrics: str  # appended statements that print the metrics line (our code)
    edits: tuple[Edit, ...] = ()
    drop_cells: tuple[str, ...] = ()  # notebook cells left out when one of these patterns matches
    seed: bool = False  # the script sets no seed: seed torch, numpy and random after the imports
    data: str = ""  # an offline data module from public_data/ the edits point the script at


MORVAN = ("MorvanZhou/PyTorch-Tutorial", "dbe154a9e56635e51c6b0c2ccea8ae36cfb585a7")
LOEBER = ("patrickloeber/pytorchTutorial", "69637721ed9fa2ccf81a1093a928a52bbb591439")
JOHNSON = ("jcjohnson/pytorch-examples", "0003fcdc606a79951e53bf8f46f8574fa4739f23")
SEQ2SEQ = ("bentrevett/pytorch-seq2seq", "b3cd54c72cd6e4e63f672d334c795b4fe744ef92")
SENTIMENT = ("bentrevett/pytorch-sentiment-analysis", "329f654b2cfaed22fee432569ebd7a2674584f79")

F = "torch.nn.functional"


def classified(model_call: str, x: str, y: str, prefix: str = "val") -> str:
    """Accuracy and a hand-computed cross-entropy of `model_call` on inputs `x`, labels `y`."""
    return (
        f"with torch.no_grad():\n"
        f"    _logits = {model_call.format(x=x)}\n"
        f"    _labels = torch.as_tensor({y})\n"
        f"print(json.dumps({{'{prefix}_acc': round((_logits.argmax(1) == _labels).float().mean()"
        f".item(), 4), '{prefix}_nll': round({F}.cross_entropy(_logits, _labels).item(), 4)}}))"
    )


def regressed(prediction: str, target: str, key: str, constant: bool = False) -> str:
    """A hand-computed mean squared error of `prediction` against `target`; with `constant`, also
    that of the best constant prediction there (the targets' mean), the baseline the host must
    beat to count as learning (kill.not_learning)."""
    baseline = (
        f"    _constant = (({target}) - ({target}).mean(0)).pow(2).mean().item()\n"
        if constant
        else ""
    )
    shown = f", '{key}_constant': round(_constant, 5)" if constant else ""
    return (
        f"with torch.no_grad():\n"
        f"    _mse = (({prediction}) - ({target})).pow(2).mean().item()\n"
        f"{baseline}"
        f"print(json.dumps({{'{key}': round(_mse, 5){shown}}}))"
    )


def loader_classified(model: str, loader: str, flatten: bool = False) -> str:
    """Accuracy and cross-entropy of `model` over every batch of a test loader."""
    images = "_x.reshape(-1, 28 * 28)" if flatten else "_x"
    batches = f"[(_x, _y) for _x, _y in {loader}]"
    return classified(
        f"torch.cat([{model}({images}) for _x, _ in {{x}}])",
        batches,
        f"torch.cat([_y for _, _y in {batches}])",
    )


def mnist(count: int) -> Edit:
    """torchvision's MNIST (however it is imported) replaced by the offline digits."""
    return Edit(r"\b[\w.]*\bMNIST\(", "offline_mnist.MNIST(", count)


RECIPES = [
    Recipe(
        "morvan_regression",
        *MORVAN,
        "tutorial-contents/301_regression.py",
        "tutorial: full-batch regression on a curve, module class, SGD",
        "regression",
        "features",
        regressed("net(x)", "y", "train_mse"),
        seed=True,
    ),
    Recipe(
        "morvan_classification",
        *MORVAN,
        "tutorial-contents/302_classification.py",
        "tutorial: full-batch two-blob classification, SGD",
        "classification",
        "features",
        classified("net({x})", "x", "y", prefix="train"),
        seed=True,
    ),
    Recipe(
        "morvan_cnn",
        *MORVAN,
        "tutorial-contents/401_CNN.py",
        "tutorial: CNN on MNIST, module returning (logits, features), periodic test accuracy",
        "classification",
        "grid",
        classified("cnn({x})[0]", "test_x", "test_y"),
        edits=(
            mnist(2),
            Edit(r"HAS_SK = True", "HAS_SK = False"),
            Edit(r"^EPOCH = 1\b", "EPOCH = 3"),
        ),
        seed=True,
        data="offline_mnist",
    ),
    Recipe(
        "morvan_rnn_classifier",
        *MORVAN,
        "tutorial-contents/402_RNN_classifier.py",
        "tutorial: LSTM reading MNIST rows, periodic test accuracy",
        "classification",
        "grid",
        classified("rnn({x})", "test_x", "test_y"),
        edits=(mnist(2), Edit(r"^EPOCH = 1\b", "EPOCH = 3")),
        seed=True,
        data="offline_mnist",
    ),
    Recipe(
        "morvan_rnn_regressor",
        *MORVAN,
        "tutorial-contents/403_RNN_regressor.py",
        "tutorial: RNN mapping sin to cos, hidden state carried across steps",
        "regression",
        "series",
        "_t = np.linspace(100 * np.pi, 110 * np.pi, 100, dtype=np.float32)\n"
        "with torch.no_grad():\n"
        "    _pred, _ = rnn(torch.from_numpy(np.sin(_t)[None, :, None]), None)\n"
        + regressed("_pred.flatten()[10:]", "torch.from_numpy(np.cos(_t))[10:]", "val_mse"),
        seed=True,
    ),
    Recipe(
        "morvan_autoencoder",
        *MORVAN,
        "tutorial-contents/404_autoencoder.py",
        "tutorial: MLP autoencoder on MNIST, encoder and decoder Sequentials",
        "autoencoder",
        "grid",
        "_view = offline_mnist.MNIST('./mnist/', train=False).data[:500].view(-1, 28 * 28).float()"
        " / 255.0\n"
        "with torch.no_grad():\n"
        "    _, _decoded = autoencoder(_view)\n"
        + regressed("_decoded", "_view", "val_mse", constant=True),
        edits=(mnist(1), Edit(r"^EPOCH = 10\b", "EPOCH = 4")),
        seed=True,
        data="offline_mnist",
    ),
    Recipe(
        "morvan_gan",
        *MORVAN,
        "tutorial-contents/406_GAN.py",
        "tutorial: GAN drawing curves, two Sequentials and two Adam optimizers",
        "gan",
        "features",
        "with torch.no_grad():\n"
        "    _fake = G(torch.randn(1000, N_IDEAS)).numpy()\n"
        "_real = np.concatenate([artist_works().numpy() for _ in range(16)])\n"
        "print(json.dumps({'gen_gap': round(float(np.abs(_fake.mean(0) - _real.mean(0)).mean()"
        " + np.abs(_fake.std(0) - _real.std(0)).mean()), 4)}))",
        edits=(Edit(r"range\(10000\)", "range(3000)"),),
        seed=True,
    ),
    Recipe(
        "morvan_dropout",
        *MORVAN,
        "tutorial-contents/503_dropout.py",
        "tutorial: two nets (with and without dropout) trained side by side on 20 points",
        "regression",
        "features",
        "net_overfitting.eval()\nnet_dropped.eval()\n"
        "with torch.no_grad():\n"
        "    _drop = (net_dropped(test_x) - test_y).pow(2).mean().item()\n"
        "    _ofit = (net_overfitting(test_x) - test_y).pow(2).mean().item()\n"
        "print(json.dumps({'val_mse': round(_drop, 4), 'val_mse_overfit': round(_ofit, 4)}))",
        seed=True,
    ),
    Recipe(
        "loeber_linear_regression",
        *LOEBER,
        "07_linear_regression.py",
        "tutorial: one linear layer, full batch, step before zero_grad",
        "regression",
        "features",
        regressed("model(X)", "y", "train_mse"),
        seed=True,
    ),
    Recipe(
        "loeber_logistic_regression",
        *LOEBER,
        "08_logistic_regression.py",
        "tutorial: logistic regression with a sigmoid output and BCELoss, full batch",
        "classification",
        "features",
        "with torch.no_grad():\n"
        "    _p = model(X_test)\n"
        "print(json.dumps({'val_acc': round((_p.round() == y_test).float().mean().item(), 4),"
        f" 'val_bce': round({F}.binary_cross_entropy(_p, y_test).item(), 4)}}))",
        seed=True,
    ),
    Recipe(
        "loeber_feedforward",
        *LOEBER,
        "13_feedforward.py",
        "tutorial: MLP on MNIST, images flattened in the loop",
        "classification",
        "grid",
        loader_classified("model", "test_loader", flatten=True),
        edits=(mnist(2), Edit(r"^num_epochs = 2$", "num_epochs = 3")),
        seed=True,
        data="offline_mnist",
    ),
    Recipe(
        "johnson_optim",
        *JOHNSON,
        "nn/two_layer_net_optim.py",
        "example: Sequential fitting random targets, summed MSE, Adam",
        "regression",
        "features",
        regressed("model(x)", "y", "train_mse"),
        seed=True,
    ),
    Recipe(
        "johnson_module",
        *JOHNSON,
        "nn/two_layer_net_module.py",
        "example: custom Module with clamp as ReLU, summed MSE, SGD at 1e-4",
        "regression",
        "features",
        regressed("model(x)", "y", "train_mse"),
        seed=True,
    ),
    Recipe(
        "johnson_dynamic",
        *JOHNSON,
        "nn/dynamic_net.py",
        "example: dynamic depth chosen at random per forward, SGD with momentum",
        "regression",
        "features",
        regressed("model(x)", "y", "train_mse"),
        seed=True,
    ),
    Recipe(
        "johnson_nn",
        *JOHNSON,
        "nn/two_layer_net_nn.py",
        "example: hand-written SGD updates under no_grad, model.zero_grad()",
        "regression",
        "features",
        regressed("model(x)", "y", "train_mse"),
        seed=True,
    ),
    Recipe(
        "trevett_nbow",
        *SENTIMENT,
        "1 - Neural Bag of Words.ipynb",
        "notebook: bag-of-embeddings sentiment classifier, dict batches, tqdm, best checkpoint",
        "classification",
        "tokens",
        "print(json.dumps({'val_acc': round(float(test_acc), 4),"
        " 'val_loss': round(float(test_loss), 4)}))",
        edits=(
            Edit(r"^import (datasets|torchtext)\n", "", 2),
            Edit(
                r"^batch_size = 512$",
                "train_data, valid_data, test_data, vocab = offline_text.sentiment()\n"
                "pad_index = vocab['<pad>']\nbatch_size = 64",
            ),
        ),
        drop_cells=(
            r"load_dataset|get_tokenizer|tokenize_example|tokenizer\(|train_test_split",
            r"build_vocab|vocab\[|set_default_index|lookup_|numericalize|with_format",
            r"GloVe|vectors|pretrained_embedding|embedding\.weight|\bfig\b",
            r"predict_sentiment|^text = ",
        ),
        data="offline_text",
    ),
    Recipe(
        "trevett_seq2seq",
        *SEQ2SEQ,
        "1 - Sequence to Sequence Learning with Neural Networks.ipynb",
        "notebook: LSTM encoder-decoder with teacher forcing, clipping, best checkpoint",
        "seq2seq",
        "tokens",
        "model.eval()\n_hits = _total = 0\n"
        "with torch.no_grad():\n"
        "    for _batch in test_data_loader:\n"
        "        _out = model(_batch['de_ids'], _batch['en_ids'], 0)[1:].argmax(-1)\n"
        "        _ref = _batch['en_ids'][1:]\n"
        "        _mask = _ref != pad_index\n"
        "        _hits += (_out[_mask] == _ref[_mask]).sum().item()\n"
        "        _total += _mask.sum().item()\n"
        "print(json.dumps({'val_acc': round(_hits / _total, 4),"
        " 'val_loss': round(float(test_loss), 4)}))",
        edits=(
            Edit(r"^import (spacy|datasets|torchtext|evaluate)\n", "", 4),
            Edit(
                r"^batch_size = 128$",
                "train_data, valid_data, test_data, en_vocab, de_vocab = offline_text.translation()"
                "\npad_index = en_vocab['<pad>']\nbatch_size = 32",
            ),
            Edit(r"^(encoder|decoder)_embedding_dim = 256$", r"\1_embedding_dim = 64", 2),
            Edit(r"^hidden_dim = 512$", "hidden_dim = 64"),
        ),
        drop_cells=(
            r"load_dataset|dataset\[|_nlp|build_vocab|unk_index = |set_default_index",
            r"lookup_|numericalize|with_format|\[\"de\"\]|^sentence = |evaluate\.load",
            r"^predictions = |bleu|^tokens = ",
        ),
        data="offline_text",
    ),
]
BY_NAME = {r.name: r for r in RECIPES}
