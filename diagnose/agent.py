"""The agent: after the observed run, run the replay that best separates the likely causes,
re-rank, and repeat until the top cause is confirmed, the time budget is spent, or no replay
is informative any more.

Which replays are informative comes from the rule graph: a cause's ``confirm`` scenario (its fix
applied), and the scenarios that the symptoms on its edges need but that have not run yet.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from diagnose.diagnosis import Diagnosis
from diagnose.evidence import AgentStep, Evidence, ScenarioRun
from diagnose.forkserver import ForkClient
from diagnose.progress import Progress
from diagnose.rules.judge import judge
from diagnose.rules.loader import RuleBook
from diagnose.rules.schema import SCENARIOS
from diagnose.runner import ScenarioSpec, run_forked, run_scenario
from diagnose.scenarios import PREREQUISITES, Plan, plan
from diagnose.targets import Target

RANK_WEIGHTS = (1.0, 0.6, 0.4, 0.3)
MIN_VALUE = 0.05
MAX_REPLAYS = 10
FORK_OVERHEAD_SECONDS = 0.5
DEFAULT_STEP_SECONDS = 0.05


@dataclass
class Candidate:
    scenario: str
    value: float
    reason: str


class Replays:
    """Runs plans: forked from the observed run's first step when possible, else from scratch."""

    def __init__(self, target: Target, workdir: Path, client: ForkClient, observed: Evidence,
                 timeout: float, every: int) -> None:
        self.target, self.workdir, self.client = target, workdir, client
        self.timeout, self.every = timeout, every
        run = observed.observe.run
        self.cold_seconds = max(run.wall_seconds, 1.0)
        self.step_seconds = run.seconds / run.steps if run.steps >= 10 else DEFAULT_STEP_SECONDS

    def forkable(self, item: Plan) -> bool:
        return self.client.available and not item.from_start

    def estimate(self, item: Plan) -> float:
        if self.forkable(item):
            return FORK_OVERHEAD_SECONDS + 1.5 * self.step_seconds * item.steps
        return self.cold_seconds + self.step_seconds * item.steps

    def spec(self, item: Plan, timeout: float) -> ScenarioSpec:
        return ScenarioSpec(item.name, self.target.script, self.target.args, max_steps=item.steps,
                            timeout=min(self.timeout, timeout), every=self.every,
                            intervention={"name": item.intervention, "params": item.params})

    def heartbeat(self, item: Plan) -> Path:
        """Where the replay of ``item`` reports its step count while it runs."""
        return self.spec(item, self.timeout).paths(self.workdir)["progress"]

    def run(self, item: Plan, reason: str, timeout: float) -> ScenarioRun:
        spec = self.spec(item, timeout)
        fork = self.forkable(item)
        result = run_forked(self.client, spec, self.workdir) if fork else run_scenario(spec, self.workdir)
        return ScenarioRun.from_child(result, mode="fork" if fork else "cold", reason=reason)


class Agent:
    def __init__(self, book: RuleBook, replays: Replays, budget: float, progress: Progress | None = None) -> None:
        self.book, self.replays, self.budget = book, replays, budget
        self.progress = progress or Progress()

    def investigate(self, evidence: Evidence) -> Evidence:
        deadline = time.monotonic() + self.budget
        diagnosis = judge(evidence, self.book)
        for _ in range(MAX_REPLAYS):
            remaining = deadline - time.monotonic()
            choice = self.choose(diagnosis, evidence, remaining)
            if choice is None:
                break
            item, reason = choice
            self.progress.scenario(item.name, reason, item.steps, self.replays.heartbeat(item))
            started = time.monotonic()
            evidence.scenarios[item.name] = self.replays.run(item, reason, max(remaining, 5.0))
            after = judge(evidence, self.book)
            evidence.agent.append(_step(item.name, reason, time.monotonic() - started, diagnosis, after))
            diagnosis = after
        return evidence

    def choose(self, diagnosis: Diagnosis, evidence: Evidence, remaining: float) -> tuple[Plan, str] | None:
        """The most valuable replay that fits in the remaining time, if any is worth running."""
        top = diagnosis.top
        if top is None or (top.confirmed and top.confidence >= 0.5):
            return None
        stepped = evidence.observe.run.steps > 0  # replays start at the first step, unless from_start
        for candidate in sorted(self.candidates(diagnosis, evidence), key=lambda c: -c.value):
            item = plan(candidate.scenario, evidence)
            if item is None or candidate.value < MIN_VALUE or not (stepped or item.from_start):
                continue
            if self.replays.estimate(item) <= remaining:
                return item, candidate.reason
        return None

    def candidates(self, diagnosis: Diagnosis, evidence: Evidence) -> list[Candidate]:
        found: dict[str, Candidate] = {}

        def add(scenario: str, value: float, reason: str) -> None:
            if scenario in evidence.scenarios:
                return
            needed = PREREQUISITES.get(scenario)
            if needed is not None and needed not in evidence.scenarios:
                scenario, reason = needed, f"{reason} (needs the {needed} replay first)"
            if scenario not in found:
                found[scenario] = Candidate(scenario, 0.0, reason)
            found[scenario].value += value

        for rank, cause in enumerate(diagnosis.causes[:len(RANK_WEIGHTS)]):
            weight = cause.confidence * RANK_WEIGHTS[rank]
            spec = self.book.causes[cause.id].confirm
            if spec is not None and cause.confirmation is None:
                add(spec.scenario, weight * (1.3 if rank == 0 else 1.0),
                    f"confirm {cause.id}: does the {spec.scenario} replay make the symptom go away?")
                if spec.baseline != "observe":
                    add(spec.baseline, weight, f"baseline for the {spec.scenario} replay ({cause.id})")
            for edge in self.book.edges_into(cause.id):
                for symptom in map(self.book.symptoms.get, edge.symptoms):
                    for need in (n for n in symptom.needs if n in SCENARIOS and n not in evidence.scenarios):
                        add(need, weight * edge.weight * 0.7, f"test '{symptom.title}' for {cause.id}")
        return list(found.values())


def _step(name: str, reason: str, seconds: float, before: Diagnosis, after: Diagnosis) -> AgentStep:
    return AgentStep(scenario=name, reason=reason, seconds=round(seconds, 2),
                     top_before=before.top.id if before.top else "", top_after=after.top.id if after.top else "",
                     confidence_before=before.top.confidence if before.top else 0.0,
                     confidence_after=after.top.confidence if after.top else 0.0)
