"""The host scripts: healthy training scripts in distinct styles that the operators mutate.

The bench's own hosts are folders under `host_scripts/` holding `train.py` (and, for one style,
the helper module it imports). Public hosts are extracted at bench time from fetched repositories
(`extract.py`) into the bench's output folder, with an offline data module beside them that the
operators leave alone. A host prints its final metrics as the last line of its output, one JSON
object (`val_acc` and `val_loss`, or `val_mse` computed by hand for regression; `train_*` where a
public script has no held-out data), which is what the kill check compares.
"""

from __future__ import annotations

import ast
import importlib.util
from dataclasses import dataclass
from pathlib import Path

FOLDER = Path(__file__).parent / "host_scripts"


# The task a host's training solves, as the operators' `needs` see it: an autoencoder regresses
# its input, a sequence-to-sequence model classifies each target token, a GAN is neither.
TASK_TAGS = {
    "classification": {"classification"},
    "regression": {"regression"},
    "autoencoder": {"regression"},
    "seq2seq": {"classification"},
    "gan": set(),
}
FLOAT_INPUTS = ("features", "images", "series", "grid")
GRID_INPUTS = ("pixels", "grid")  # image tensors [N, C, H, W] in the training loop


@dataclass(frozen=True)
class Host:
    name: str
    style: str
    task: str  # a key of TASK_TAGS
    # "features", "images" (flattened), "pixels" (8-bit image grids), "grid" (float image
    # grids), "series" or "tokens"
    inputs: str
    extra: str = ""  # a module the host needs beyond torch and scikit-learn
    origin: str = "own"  # "own" (written for the bench) or "public" (extracted at bench time)
    folder: Path | None = None  # default: host_scripts/<name>
    fixed: tuple[str, ...] = ()  # files operators never edit (a public host's offline data)
    source: str = ""  # where a public host comes from: "owner/name: path"

    @property
    def tags(self) -> frozenset[str]:
        """What operators may require of a host: its task, the kind of its inputs, and whether it
        switches the model to eval mode for evaluation (itself or through a framework's
        trainer): only then is a layer that behaves differently in training benign."""
        texts = [p.read_text() for p in sorted((self.folder or FOLDER / self.name).glob("*.py"))]
        switches = any(".eval()" in t or "Trainer(" in t for t in texts)
        return frozenset(
            TASK_TAGS[self.task]
            | ({"float_inputs"} if self.inputs in FLOAT_INPUTS else set())
            | ({"grid_inputs"} if self.inputs in GRID_INPUTS else set())
            | ({"eval_mode"} if switches else set())
        )

    @property
    def available(self) -> bool:
        return not self.extra or importlib.util.find_spec(self.extra) is not None

    def sources(self) -> dict[str, str]:
        """The host's Python files as the mutants see them: parsed and unparsed, so a host and its
        mutants differ only by the mutation, never by formatting or comments."""
        return {
            p.name: ast.unparse(ast.parse(p.read_text()))
            for p in sorted((self.folder or FOLDER / self.name).glob("*.py"))
        }


HOSTS = [
    Host("flat_digits", "flat script, top to bottom", "classification", "images"),
    Host("argparse_cancer", "argparse CLI with main()", "classification", "features"),
    Host("trainer_wine", "Trainer class", "classification", "features"),
    Host(
        "estimator_blobs",
        "scikit-learn-like estimator (fit/score), manual batching",
        "classification",
        "features",
    ),
    Host("keras_diabetes", "Keras-like compile/fit wrapper", "regression", "features"),
    Host("dataclass_cnn", "dataclass config, CNN on 8-bit images", "classification", "pixels"),
    Host("functional_gru", "functional train_one_epoch/evaluate, GRU", "classification", "series"),
    Host(
        "cycle_lstm",
        "step-based loop over itertools.cycle, LSTM on tokens",
        "classification",
        "tokens",
    ),
    Host("notebook_regression", "notebook-style cells", "regression", "features"),
    Host(
        "helper_resmlp",
        "model in a helper module (ModuleList of residual blocks)",
        "classification",
        "features",
    ),
    Host(
        "lightning_cancer",
        "PyTorch Lightning module and Trainer",
        "classification",
        "features",
        "lightning",
    ),
    Host(
        "hf_tinybert",
        "Hugging Face Trainer, tiny random BERT",
        "classification",
        "tokens",
        "transformers",
    ),
    Host("sine_lstm", "config dict, early stopping, LSTM forecaster", "regression", "series"),
    Host(
        "transformer_tokens",
        "custom Dataset of dicts, nn.TransformerEncoder",
        "classification",
        "tokens",
    ),
    Host(
        "accum_bn",
        "gradient accumulation over micro-batches, deep BatchNorm MLP",
        "classification",
        "images",
    ),
]
BY_NAME = {h.name: h for h in HOSTS}
