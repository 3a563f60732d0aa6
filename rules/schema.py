"""The rule-file format: pydantic models that are the published schema of ``rules/*.yaml``.

A rule file declares three kinds of nodes: **symptoms** (a detector from the detector library
with its thresholds, and the evidence sections it needs), **causes** (a canonical id with the
prose a report shows: title, why, fix, example) and **edges** from symptoms to causes
(``all``/``any``/``not`` over symptom ids, a weight, and whether the edge supports or refutes).
``python -m diagnose.rules.schema`` prints the JSON schema.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

Level = Literal["data", "learnability", "optimization", "evaluation", "crash"]
LEVELS: tuple[str, ...] = ("data", "learnability", "optimization", "evaluation", "crash")
Section = Literal[
    "run",
    "loss",
    "optimizer",
    "schedule",
    "model",
    "init",
    "data",
    "bookkeeping",
    "gradients",
    "activations",
    "graph",
    "sources",
    "messages",
    "distributed",
    "fit",
    # replays: a symptom that needs one is "not evaluated" until the agent runs it
    "overfit_loop",
    "overfit_isolated",
    "lr_range",
    "subset",
    "label_control",
    "zeroed_input",
    "gradcheck",
]
SCENARIOS = (
    "overfit_loop",
    "overfit_isolated",
    "lr_range",
    "subset",
    "label_control",
    "zeroed_input",
    "gradcheck",
)
ParamValue = bool | int | float | str | list[str] | list[float] | dict[str, float]
Identifier = Field(pattern=r"^[a-z][a-z0-9_]*$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Threshold(Strict):
    """One of a detector's parameters, as a rule sets it: the value and, beside it, why."""

    value: ParamValue
    why: str = Field(min_length=10, description="Why this value: one line a reviewer can check.")


class Symptom(Strict):
    """Something measurable that can be wrong, judged by a detector function."""

    id: str = Identifier
    title: str = Field(min_length=3, description="What the symptom is, in a few words.")
    level: Level
    detector: str = Field(description="Name of a function in the detector library.")
    params: dict[str, Threshold] = Field(
        default_factory=dict,
        description="Every parameter the detector takes (its Params model), each with its reason.",
    )
    needs: list[Section] = Field(
        default_factory=list,
        description="Evidence the detector needs: without one of these the rule is not evaluated.",
    )
    uses: list[Section] = Field(
        default_factory=list,
        description="Evidence the detector reads when present. It may read nothing else.",
    )
    shared: list[str] = Field(
        default_factory=list,
        description="Shared parameter sets (a rule file's 'shared') merged into 'params'.",
    )
    failure: bool = Field(
        default=False,
        description=(
            "The run fails when this fires (the loss does not fall, climbs, turns NaN, sits at "
            "chance, the predictions collapse): a run where a failure symptom fired is never "
            "reported healthy."
        ),
    )

    _settings: Any = PrivateAttr(default=None)  # the detector's typed Params, set by the loader

    @property
    def settings(self) -> Any:
        """The parameters as the detector's ``Params`` model (checked by the loader)."""
        if self._settings is None:
            raise RuntimeError(f"symptom '{self.id}' was not loaded through the rule loader")
        return self._settings


class Confirm(Strict):
    """How a replay confirms a cause: run ``scenario``, the cause's own fix applied to the user's
    loop, and compare it with the observed run by ``criterion``. Controls (``SCENARIOS``) are
    evidence and can never confirm: a model that cannot learn at all fails every control, whatever
    the cause."""

    scenario: str = Identifier
    criterion: Literal[
        "training_improves",
        "accuracy_improves",
        "validation_improves",
        "predictions_diversify",
        "minority_recovers",
        "no_crash",
    ] = "training_improves"
    search: int = Field(
        default=0,
        ge=0,
        description=(
            "Order in the repair search (1 first): when a run fails and no cause is established, "
            "fixes are tried blindly in this order, lower pyramid levels first. 0: "
            "never tried blindly."
        ),
    )

    @model_validator(mode="after")
    def _is_a_fix(self) -> Confirm:
        if self.scenario in SCENARIOS:
            raise ValueError(
                f"'{self.scenario}' is a control experiment, not a fix: it cannot confirm a cause"
            )
        return self


class Cause(Strict):
    """A root cause with one fixed shape of prose (title / why / fix / example)."""

    id: str = Identifier
    level: Level
    title: str = Field(min_length=3)
    why: str = Field(min_length=10, description="Why this makes training fail.")
    fix: str = Field(min_length=5, description="The first thing to change, in one line.")
    example: str = Field(default="", description="The fix as code.")
    points_at: list[str] = Field(default_factory=list, description="Source-line keys, best first.")
    explained_by: list[str] = Field(
        default_factory=list,
        description="Lower-level causes that, when likely, explain this one away.",
    )
    confirm: Confirm | None = Field(
        default=None, description="The replay of this cause's own fix that confirms it."
    )
    unconfirmable: str = Field(
        default="",
        description=(
            "Why no replay can apply this cause's fix (the data must be rebuilt, the code "
            "rewritten): such a cause is at most 'supported', never 'confirmed'."
        ),
    )
    consequence: bool = Field(
        default=False,
        description=(
            "The cause is itself a symptom of others (exploding gradients, dead ReLUs): it ranks "
            "first only when no other candidate's fix also resolves it."
        ),
    )
    patch: str = Field(
        default="",
        pattern=r"^([a-z][a-z0-9_]*)?$",
        description=(
            "The source edit (by name) that writes this cause's fix into the user's "
            "script for `--patch`."
        ),
    )
    not_local: str = Field(
        default="",
        description=(
            "Why this cause's fix is not a local edit of the script (the data pipeline or the "
            "architecture must change): the report says so instead of offering a diff."
        ),
    )

    @model_validator(mode="after")
    def _confirmable_or_not(self) -> Cause:
        if (self.confirm is None) == (not self.unconfirmable):
            raise ValueError(
                "a cause names exactly one of 'confirm' (the replay of its fix that confirms it) "
                "and 'unconfirmable' (why no replay can)"
            )
        if self.patch and self.not_local:
            raise ValueError(
                "a cause names at most one of 'patch' (its source edit) and 'not_local' "
                "(why there is none)"
            )
        return self


class Edge(Strict):
    """Symptoms → cause: fires when all of ``all``, one of ``any`` and none of ``not`` fired."""

    cause: str = Identifier
    all_of: list[str] = Field(default_factory=list, alias="all")
    any_of: list[str] = Field(default_factory=list, alias="any")
    none_of: list[str] = Field(default_factory=list, alias="not")
    weight: float = Field(gt=0, le=1)
    refutes: bool = False
    direct: bool = Field(
        default=False,
        description=(
            "The symptoms observe the cause itself (training steps run in eval mode), not a "
            "consequence of it: a replay whose fix did not measurably help does not weaken this "
            "edge's support."
        ),
    )

    @model_validator(mode="after")
    def _needs_a_condition(self) -> Edge:
        if not (self.all_of or self.any_of):
            raise ValueError("an edge needs symptoms in 'all' or 'any'")
        return self

    @property
    def symptoms(self) -> list[str]:
        return [*self.all_of, *self.any_of, *self.none_of]


class RuleFile(Strict):
    shared: dict[str, dict[str, Threshold]] = Field(
        default_factory=dict,
        description=(
            "Named sets of parameters that several symptoms take alike (what fitting one batch "
            "means, how long a curve must be): set once here, listed in each symptom's 'shared'."
        ),
    )
    symptoms: list[Symptom] = Field(default_factory=list)
    causes: list[Cause] = Field(default_factory=list)
    edges: list[Edge] = Field(default_factory=list)


if __name__ == "__main__":
    print(json.dumps(RuleFile.model_json_schema(by_alias=True), indent=2))
