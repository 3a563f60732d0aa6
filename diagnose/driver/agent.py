"""The agent: after the observed run, run the replay that best separates the likely causes,
re-rank, and repeat until the top cause is confirmed, the time budget is spent, or no replay
is informative any more.

Which replays are informative comes from the rule graph: a cause's ``confirm`` scenario (its fix
applied), and the scenarios that the symptoms on its edges need but that have not run yet. A
confirmed cause ends the search only when no candidate that may be its root is left untested. When
the run fails and no cause is established, the remaining budget goes to the repair search: the
causes' fixes tried blindly in the rule files' ``search`` order.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from diagnose.child.forkserver import ForkClient
from diagnose.diagnosis import CauseReport, Diagnosis
from diagnose.driver.progress import Progress
from diagnose.driver.results import scenario_run
from diagnose.driver.runner import ScenarioSpec, run_forked, run_scenario
from diagnose.driver.scenarios import PREREQUISITES, Plan, plan
from diagnose.driver.targets import Target
from diagnose.evidence import AgentStep, Evidence, ScenarioRun
from diagnose.rules.judge import judge
from diagnose.rules.loader import RuleBook
from diagnose.rules.schema import SCENARIOS, Cause, Confirm

RANK_WEIGHTS = (1.0, 0.6, 0.4, 0.3)
MIN_VALUE = 0.05
ROOT_VALUE = 1.0  # testing a possible root of a confirmed symptom comes before anything else
MAX_REPLAYS = 24
FORK_OVERHEAD_SECONDS = 0.5
DEFAULT_STEP_SECONDS = 0.05


Choice = tuple[Plan, str, str]  # the plan, why it runs, the cause the repair search tries it for


@dataclass
class Candidate:
    scenario: str
    value: float
    reason: str


class Replays:
    """Runs plans: forked from the observed run's first step when possible, else from scratch."""

    def __init__(
        self,
        target: Target,
        workdir: Path,
        client: ForkClient,
        observed: Evidence,
        timeout: float,
        every: int,
        probes: Path | None = None,
    ) -> None:
        self.target, self.workdir, self.client = target, workdir, client
        self.timeout, self.every = timeout, every
        self.probes = probes  # the observed run's probe batches, measured by every fix replay
        run = observed.observe.run
        self.disabled = run.disabled  # what failed in the observed run stays off in replays
        self.cold_seconds = max(run.wall_seconds, 1.0)
        self.step_seconds = run.seconds / run.steps if run.steps >= 10 else DEFAULT_STEP_SECONDS

    def forkable(self, item: Plan) -> bool:
        return self.client.available and not item.from_start

    def estimate(self, item: Plan) -> float:
        if self.forkable(item):
            return FORK_OVERHEAD_SECONDS + 1.5 * self.step_seconds * item.steps
        return self.cold_seconds + self.step_seconds * item.steps

    def spec(self, item: Plan, timeout: float) -> ScenarioSpec:
        return ScenarioSpec(
            item.name,
            self.target.script,
            self.target.args,
            max_steps=item.steps,
            timeout=min(self.timeout, timeout),
            every=self.every,
            intervention={"name": item.intervention, "params": item.params},
            nproc=self.target.nproc,
            notebook=self.target.notebook_spec(),
            disabled=list(self.disabled),
            # A fix is judged on the observed run's probe batches; a control measures its own.
            probes={"load": str(self.probes)} if self.probes and item.name not in SCENARIOS else {},
        )

    def heartbeat(self, item: Plan) -> Path:
        """Where the replay of ``item`` reports its step count while it runs."""
        return self.spec(item, self.timeout).paths(self.workdir)["progress"]

    def run(self, item: Plan, reason: str, timeout: float) -> ScenarioRun:
        spec = self.spec(item, timeout)
        fork = self.forkable(item)
        result = (
            run_forked(self.client, spec, self.workdir)
            if fork
            else run_scenario(spec, self.workdir)
        )
        return scenario_run(result, "fork" if fork else "cold", reason)


class Agent:
    def __init__(
        self, book: RuleBook, replays: Replays, budget: float, progress: Progress | None = None
    ) -> None:
        self.book, self.replays, self.budget = book, replays, budget
        self.progress = progress or Progress()

    def investigate(self, evidence: Evidence) -> Evidence:
        deadline = time.monotonic() + self.budget
        diagnosis = judge(evidence, self.book)
        for _ in range(MAX_REPLAYS):
            remaining = deadline - time.monotonic()
            choice = self.choose(diagnosis, evidence, remaining)
            if choice is None and diagnosis.verdict == "not_learning":
                if self.adopt_repairs(evidence):
                    diagnosis = judge(evidence, self.book)
                    continue
                choice = self.repair(diagnosis, evidence, remaining)
            if choice is None:
                break
            item, reason, repair_for = choice
            self.progress.scenario(item.name, reason, item.steps, self.replays.heartbeat(item))
            started = time.monotonic()
            replay = self.replays.run(item, reason, max(remaining, 5.0))
            replay.repair_for = repair_for
            evidence.scenarios[item.name] = replay
            after = judge(evidence, self.book)
            evidence.agent.append(
                _step(item.name, reason, time.monotonic() - started, diagnosis, after)
            )
            diagnosis = after
        return evidence

    def choose(self, diagnosis: Diagnosis, evidence: Evidence, remaining: float) -> Choice | None:
        """The most valuable replay that fits in the remaining time, if any is worth running."""
        top = diagnosis.top
        if top is None or (top.confirmed and not self.untested_roots(diagnosis, top)):
            return None
        for candidate in sorted(self.candidates(diagnosis, evidence), key=lambda c: -c.value):
            if candidate.value < MIN_VALUE:
                break
            item = self.fitting(candidate.scenario, diagnosis, evidence, remaining)
            if item is not None:
                return item, candidate.reason, ""
        return None

    def battery(self) -> list[tuple[Cause, Confirm]]:
        """The causes the repair search tries, with the replay of each one's fix, in its order."""
        return sorted(
            (
                (cause, fix)
                for cause in self.book.causes.values()
                if (fix := cause.confirm) is not None and fix.search
            ),
            key=lambda tried: tried[1].search,
        )

    def adopt_repairs(self, evidence: Evidence) -> bool:
        """Count the fixes that already ran (to test a suspicion) as tried by the repair search:
        on a run that nothing explains, their result names a cause too. True when one was new."""
        adopted = False
        for cause, fix in self.battery():
            replay = evidence.scenarios.get(fix.scenario)
            if replay is not None and not replay.repair_for:
                replay.repair_for, adopted = cause.id, True
        return adopted

    def repair(self, diagnosis: Diagnosis, evidence: Evidence, remaining: float) -> Choice | None:
        """When the run fails and no rule explains it, try the fixes of the repair search in order
        (lower pyramid levels first): whatever removes the failure names the cause."""
        for cause, fix in self.battery():
            scenario, cause_id = fix.scenario, cause.id
            needed = PREREQUISITES.get(scenario)
            if scenario in evidence.scenarios:
                continue
            if needed is not None and needed not in evidence.scenarios:
                scenario, cause_id = needed, ""
            item = self.fitting(scenario, diagnosis, evidence, remaining)
            if item is not None and not cause_id:
                return (
                    item,
                    f"repair search: the {fix.scenario} replay needs the {needed} replay first",
                    "",
                )
            if item is not None:
                return (
                    item,
                    f"repair search: nothing explains the failure; does {item.purpose} repair it?",
                    cause_id,
                )
        return None

    def fitting(
        self, scenario: str, diagnosis: Diagnosis, evidence: Evidence, remaining: float
    ) -> Plan | None:
        """The plan of ``scenario`` when it applies to this run and fits in the remaining time."""
        fired = frozenset(s.id for s in diagnosis.symptoms if s.status == "fired")
        item = plan(scenario, evidence, fired)
        stepped = (
            evidence.observe.run.steps > 0
        )  # replays start at the first step, unless from_start
        if (
            item is None
            or not (stepped or item.from_start)
            or self.replays.estimate(item) > remaining
        ):
            return None
        return item

    def untested_roots(
        self, diagnosis: Diagnosis, top: CauseReport
    ) -> list[tuple[CauseReport, Confirm]]:
        """Candidates that may be the root of ``top`` and whose own fix has not been replayed, with
        the replay of that fix: a confirmed symptom-level cause waits for them (clipping hides what
        a mean loss would cure)."""
        explained_by, consequence = (
            self.book.causes[top.id].explained_by,
            self.book.causes[top.id].consequence,
        )
        return [
            (c, fix)
            for c in diagnosis.causes
            if c is not top
            and c.confirmation is None
            and (fix := self.book.causes[c.id].confirm) is not None
            and not self.book.causes[c.id].consequence
            and (consequence or c.id in explained_by)
        ]

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

        top = diagnosis.top
        if top is not None and top.confirmed:
            for root, fix in self.untested_roots(diagnosis, top):
                add(
                    fix.scenario,
                    ROOT_VALUE + root.confidence,
                    f"is {root.id} the root of {top.id}? does its fix alone remove the failure?",
                )
        for rank, cause in enumerate(diagnosis.causes[: len(RANK_WEIGHTS)]):
            weight = cause.confidence * RANK_WEIGHTS[rank]
            spec = self.book.causes[cause.id].confirm
            if spec is not None and cause.confirmation is None:
                add(
                    spec.scenario,
                    weight * (1.3 if rank == 0 else 1.0),
                    f"confirm {cause.id}: does the {spec.scenario} replay make the "
                    "symptom go away?",
                )
            for edge in self.book.edges_into(cause.id):
                # the loader rejects an edge that names an unknown symptom
                for symptom in (self.book.symptoms[name] for name in edge.symptoms):
                    for need in (
                        n for n in symptom.needs if n in SCENARIOS and n not in evidence.scenarios
                    ):
                        add(
                            need,
                            weight * edge.weight * 0.7,
                            f"test '{symptom.title}' for {cause.id}",
                        )
        return list(found.values())


def _step(name: str, reason: str, seconds: float, before: Diagnosis, after: Diagnosis) -> AgentStep:
    return AgentStep(
        scenario=name,
        reason=reason,
        seconds=round(seconds, 2),
        top_before=before.top.id if before.top else "",
        top_after=after.top.id if after.top else "",
        confidence_before=before.top.confidence if before.top else 0.0,
        confidence_after=after.top.confidence if after.top else 0.0,
    )
