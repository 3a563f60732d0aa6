# A tiny configuration for CPU: a few seconds of training.
out_dir = "out-tiny"
eval_interval = 50
eval_iters = 5
max_iters = 400
batch_size = 16
gradient_accumulation_steps = 2
learning_rate = 1e-3
warmup_iters = 20
lr_decay_iters = 400
