"""The operator catalogue: every mutation operator, in a fixed order, looked up by name."""

from __future__ import annotations

from . import ops_capacity, ops_data, ops_loop, ops_loss, ops_optim
from .operators import Operator

ALL: list[Operator] = (
    ops_loop.OPERATORS
    + ops_loss.OPERATORS
    + ops_optim.OPERATORS
    + ops_data.OPERATORS
    + ops_capacity.OPERATORS
)
BY_NAME: dict[str, Operator] = {op.name: op for op in ALL}
