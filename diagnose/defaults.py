"""Default budgets and sampling, in one torch-free place (the parent never needs torch)."""

STEPS = 200  # optimizer steps observed
TIMEOUT = 60.0  # seconds per run before it is stopped
BUDGET = 60.0  # seconds the agent may spend on replays
EVERY = 20  # steps between samples of the expensive statistics (1 with --detail full)

# Learning rates that train most models with each optimizer: the isolated overfit test uses them,
# and the raise-LR fix aims at them when no LR range test ran.
SANE_LR = {
    "SGD": 0.01,
    "Adam": 1e-3,
    "AdamW": 1e-3,
    "NAdam": 1e-3,
    "RAdam": 1e-3,
    "Adamax": 2e-3,
    "RMSprop": 1e-3,
    "Adagrad": 0.01,
}
