"""Does a replay confirm a cause? Compare the run with the cause's own fix applied against the
observed run, and hold that against learning. Only fixes confirm: the rule schema refuses a control
experiment as a cause's ``confirm``."""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Callable

from diagnose.diagnosis import Confirmation
from diagnose.evidence import Evidence, ObservedRun, ScenarioRun
from diagnose.rules.findings import finite_values, mean, median, window
from diagnose.rules.fit import PROBE_SETS, series
from diagnose.rules.learning import Learning, learns
from diagnose.rules.loader import RuleBook
from diagnose.rules.schema import Cause

IMPROVEMENT = 0.8
MATERIAL = 0.05  # of the starting loss
ACCURACY_GAIN = 0.1
PREDICTION_SHIFT = 0.05
RECALL_GAIN = 0.1
MIN_RECALL_SAMPLES = 10  # fewer samples of the rare class make a recall too coarse to compare
MIN_VALUES = 10
MIN_CHECKPOINTS = 2  # probe measurements of each run to compare (the start and the end)
NOISE_POINTS = 4  # the observed run's last probe checkpoints its jitter is read from
NOISE_BANDS = 2.0  # a gain must exceed this many times that jitter
# The probe sets a fix is judged on, in order: data the updates did not learn from first (the
# validation batches), then rows drawn from the whole training set (order-free: a replay that
# reorders the data is never judged by its own batches), then the first training batches.
JUDGED_ON = ("val", "sampled", "train")
STILL_CLIMBS = (
    3.0  # a replay without NaN whose loss ends this many times above its start did not fix it
)


def confirm_all(
    evidence: Evidence, book: RuleBook, searched: frozenset[str], failing: bool
) -> dict[str, Confirmation]:
    """The confirmation of every cause whose fix replay ran. On a failing run, a fix whose replay
    then learns by the standard a healthy run must meet removed the failure, whatever scale its loss
    is on (a mean instead of a sum). A fix the repair search tried blindly (``searched``) names its
    cause only when its replay learns: an improvement alone may be noise or a side effect."""
    learning: dict[str, Learning] = {}

    def replay_learns(scenario: str) -> Learning:
        if scenario not in learning:
            replay = Evidence(
                script=evidence.script, args=evidence.args, observe=evidence.scenarios[scenario]
            )
            learning[scenario] = learns(replay, book)
        return learning[scenario]

    found = {}
    for cause_id, cause in book.causes.items():
        verdict = confirmation(cause, evidence)
        if verdict is not None and failing and (cause_id in searched or not verdict.confirmed):
            verdict = _held_against(verdict, replay_learns(verdict.scenario))
        if verdict is not None:
            found[cause_id] = verdict
    return found


def _held_against(verdict: Confirmation, learning: Learning) -> Confirmation:
    if learning.learns and not verdict.confirmed:
        return verdict.model_copy(
            update={"confirmed": True, "summary": f"the run learns with the fix: {learning.detail}"}
        )
    if verdict.confirmed and not learning.learns:
        failing_now = "; ".join(r.detail for r in learning.failures[:1]) or learning.detail
        return verdict.model_copy(
            update={
                "confirmed": False,
                "summary": f"{verdict.summary}, but the run still does not learn ({failing_now})",
            }
        )
    return verdict


def confirmation(cause: Cause, evidence: Evidence) -> Confirmation | None:
    """The verdict of the cause's fix replay, when it ran."""
    spec = cause.confirm
    if spec is None or spec.scenario not in evidence.scenarios:
        return None
    fixed = evidence.scenarios[spec.scenario]
    confirmed, summary, before, after = judge_fix(spec.criterion, evidence.observe, fixed)
    return Confirmation(
        scenario=spec.scenario, confirmed=confirmed, summary=summary, before=before, after=after
    )


Verdict = tuple[bool, str, float | None, float | None]


def judge_fix(criterion: str, observed: ObservedRun, replay: ScenarioRun) -> Verdict:
    """A fix replay judged by ``criterion`` against the observed run over the replay's steps."""
    return CRITERIA[criterion](_as_far_as(observed, replay), replay)


def _as_far_as(observed: ObservedRun, replay: ScenarioRun) -> ObservedRun:
    """The observed run's loss curves up to the replay's last step: the observation may have been
    extended past the replay's horizon (a warm-up, a loss still falling), and a fix is judged
    against the run over the same steps, not against where the run got to later."""
    loss, done = observed.loss, replay.loss
    if loss is None or done is None or not done.steps or not loss.steps:
        return observed
    end = done.steps[-1]
    if loss.steps[-1] <= end:
        return observed
    kept = [(s, v) for s, v in zip(loss.steps, loss.values) if s <= end]
    accuracies = [
        (s, a) for s, a in zip(loss.train_accuracy_steps, loss.train_accuracy) if s <= end
    ]
    cut = dataclasses.replace(
        loss,
        steps=[s for s, _ in kept],
        values=[v for _, v in kept],
        train_accuracy_steps=[s for s, _ in accuracies],
        train_accuracy=[a for _, a in accuracies],
        eval_passes=[p for p in loss.eval_passes if p.after_step <= end],
    )
    return observed.model_copy(update={"loss": cut})


def _late(
    values: list[float], statistic: Callable[[list[float]], float | None] = median
) -> float | None:
    """A statistic of the last fifth of a curve's finite values."""
    finite = finite_values(values)
    return statistic(window(finite, 0.8, 1.0)) if len(finite) >= MIN_VALUES else None


def _learns_sooner(
    before: list[float], after: list[float], minimum: int, what: str
) -> Verdict | None:
    """Confirmed when the accuracy averaged over the same steps rose by ``ACCURACY_GAIN``: a fix
    that makes a slow run learn at once removed its failure even where a long observation let
    the broken run catch up by the end."""
    was, now = finite_values(before), finite_values(after)
    if len(was) < minimum or len(now) < minimum:
        return None
    was_mean, now_mean = statistics.mean(was), statistics.mean(now)
    if now_mean - was_mean < ACCURACY_GAIN:
        return None
    return (
        True,
        f"{what} averaged over the same steps {was_mean:.1%} → {now_mean:.1%}",
        was_mean,
        now_mean,
    )


def _crashed(run: ObservedRun) -> str | None:
    return run.run.reason if run.run.status == "crashed" else None


def training_improves(
    before: ObservedRun, after: ScenarioRun, compare_loss: bool = True
) -> Verdict:
    """No more NaN, or accuracy up 10 points, or the loss down 20% without accuracy dropping
    (loss values are compared only when the fix keeps the loss's scale). Judged on the observed
    run's probe batches when the replay measured them (the same batches, in eval mode, at the same
    step, beyond the run's own checkpoint-to-checkpoint noise): a fix that changes the data's
    order or sampling is never judged by the batches it trains on. Without them, on the replay's
    running training loss."""
    if _crashed(after):
        return False, f"the replay with the fix crashed ({_crashed(after)})", None, None
    if before.loss is None or after.loss is None:
        return False, "no training loss to compare", None, None
    steps = len(after.loss.values)
    was_bad, is_bad = before.loss.first_nonfinite_step, _first_nonfinite_after_fork(after)
    if was_bad is not None and is_bad is None and steps >= MIN_VALUES:
        late, start = _late(after.loss.values), median(finite_values(after.loss.values[:3]))
        if late is not None and start and start > 0 and late > STILL_CLIMBS * start:
            return (
                False,
                f"no NaN/Inf in {steps} steps, but the loss still climbs from "
                f"{start:.4g} to {late:.4g}",
                None,
                late,
            )
        return (
            True,
            f"no NaN/Inf in {steps} steps (before: NaN at step {was_bad}); loss ends at {late:.4g}",
            None,
            late,
        )
    probed = _on_probes(before, after, compare_loss)
    if probed is not None:
        return probed
    accuracy = was_accuracy, now_accuracy = (
        _late(before.loss.train_accuracy),
        _late(after.loss.train_accuracy),
    )
    gain = (
        now_accuracy - was_accuracy
        if was_accuracy is not None and now_accuracy is not None
        else None
    )
    if gain is not None and gain >= ACCURACY_GAIN:
        return (
            True,
            f"training accuracy {accuracy[0]:.1%} → {accuracy[1]:.1%} over the same steps",
            *accuracy,
        )
    sooner = _learns_sooner(
        before.loss.train_accuracy, after.loss.train_accuracy, MIN_VALUES, "training accuracy"
    )
    if sooner is not None:
        return sooner
    if compare_loss and (gain is None or gain > -ACCURACY_GAIN / 2):
        improved = _loss_improved(before.loss.values, after.loss.values)
        if improved is not None:
            return improved
    if gain is not None:
        return (
            False,
            f"training accuracy {accuracy[0]:.1%} → {accuracy[1]:.1%} over the same steps",
            *accuracy,
        )
    medians = _late(before.loss.values), _late(after.loss.values)
    if None in medians:
        return False, "too few finite loss values to compare", *medians
    return False, f"training loss {medians[0]:.4g} → {medians[1]:.4g} over the same steps", *medians


def _on_probes(before: ObservedRun, after: ScenarioRun, compare_loss: bool) -> Verdict | None:
    """The fix judged on the observed run's probe batches (None when the replay has none, or
    when its fix changes what the loss computes and the probe's accuracy shows no clear gain: the
    probe's loss is then the script's old loss, not what the replay trained on)."""
    if after.fit is None or not after.fit.loaded:
        return None
    for name in JUDGED_ON:
        was_points, now_points = series(before.fit, name), series(after.fit, name)
        end = now_points[-1].step if now_points else 0
        was_points = [p for p in was_points if p.step <= end]
        if len(was_points) >= MIN_CHECKPOINTS and len(now_points) >= MIN_CHECKPOINTS:
            break
    else:
        return None
    was, now, where = was_points[-1], now_points[-1], f"{PROBE_SETS[name]} at step {end}"
    if was.accuracy is not None and now.accuracy is not None:
        gain = now.accuracy - was.accuracy
        if gain >= ACCURACY_GAIN:
            return (
                True,
                f"accuracy on {where} {was.accuracy:.1%} → {now.accuracy:.1%}",
                was.accuracy,
                now.accuracy,
            )
        sooner = _learns_sooner(
            [p.accuracy for p in was_points if p.accuracy is not None],
            [p.accuracy for p in now_points if p.accuracy is not None],
            MIN_CHECKPOINTS,
            f"accuracy on {PROBE_SETS[name]}",
        )
        if sooner is not None:
            return sooner
        if after.fit.loss_changed:
            return None  # no clear gain: judged on the replay's running curves, as without probes
        if not compare_loss or gain <= -ACCURACY_GAIN / 2:
            return (
                False,
                f"accuracy on {where} {was.accuracy:.1%} → {now.accuracy:.1%}",
                was.accuracy,
                now.accuracy,
            )
    if not compare_loss or after.fit.loss_changed:
        return None
    tail = [p.loss for p in was_points[-NOISE_POINTS:]]
    beyond_jitter = was.loss - now.loss >= NOISE_BANDS * _noise(tail) or (
        now.loss <= IMPROVEMENT * min(tail)  # below anything the observed run reached lately
    )
    confirmed = (
        was.loss > 0
        and now.loss <= IMPROVEMENT * was.loss
        and was.loss - now.loss >= MATERIAL * abs(was_points[0].loss)
        and beyond_jitter
    )
    return (
        confirmed,
        f"probe loss on {where} {was.loss:.4g} → {now.loss:.4g} per sample",
        was.loss,
        now.loss,
    )


def _noise(tail: list[float]) -> float:
    """The observed run's own checkpoint-to-checkpoint jitter: how far its last few probe losses
    stray from the line through the first and last of them. An unstable run jitters most; a
    replay that ends below anything it reached lately needs no band."""
    if len(tail) < 3:
        return 0.0
    slope = (tail[-1] - tail[0]) / (len(tail) - 1)
    return max(abs(value - (tail[0] + slope * i)) for i, value in enumerate(tail))


def _first_nonfinite_after_fork(run: ScenarioRun) -> int | None:
    """The first NaN/Inf loss the fix could have prevented: the loss of the fork step itself was
    computed before the intervention became active."""
    fork = run.intervention.activated_at_step if run.intervention else None
    if run.loss is None or fork is None:
        return run.loss.first_nonfinite_step if run.loss else None
    return next(
        (s for s, v in zip(run.loss.steps, run.loss.values) if s > fork and not math.isfinite(v)),
        None,
    )


def _loss_improved(before: list[float], after: list[float]) -> Verdict | None:
    """Confirmed by the late mean (which shows spikes) or the late median (a steady gain), when
    the gain is also material next to where the loss started (two converged runs differ by noise).
    Both runs start from the same step; the calmer start is the scale, since a run that blows up
    at once would make any gain look immaterial."""
    starts = [
        abs(statistics.median(start))
        for start in (finite_values(before[:3]), finite_values(after[:3]))
        if start
    ]
    material = MATERIAL * min(starts) if starts else 0.0
    for statistic, what in ((mean, "mean"), (median, "median")):
        was, now = _late(before, statistic), _late(after, statistic)
        if (
            was is not None
            and now is not None
            and was > 0
            and now <= IMPROVEMENT * was
            and was - now >= material
        ):
            return True, f"{what} training loss {was:.4g} → {now:.4g} over the same steps", was, now
    return None


def accuracy_improves(before: ObservedRun, after: ScenarioRun) -> Verdict:
    """For fixes changing how the loss is computed, so losses before and after differ in scale."""
    return training_improves(before, after, compare_loss=False)


def validation_improves(before: ObservedRun, after: ObservedRun) -> Verdict:
    """The script's own validation loss falls by a tenth. Not on the validation probe: the probe
    is always measured in eval mode, and what this fix changes is the mode the script validates
    in."""
    losses = [
        finite_values([p.loss for p in run.loss.eval_passes]) if run.loss else []
        for run in (before, after)
    ]
    if len(losses[0]) < 2 or len(losses[1]) < 2:
        return False, "too few validation passes to compare", None, None
    was, now = statistics.median(losses[0][-3:]), statistics.median(losses[1][-3:])
    return now <= 0.9 * was, f"validation loss {was:.4g} → {now:.4g}", was, now


def predictions_diversify(before: ObservedRun, after: ObservedRun) -> Verdict:
    """The fix makes the model predict the minority classes: the most predicted class's share falls
    by a material margin (a couple of points is the noise of a few batches)."""
    was = before.loss.predicted_share if before.loss else None
    now = after.loss.predicted_share if after.loss else None
    if was is None or now is None:
        return False, "no classification predictions to compare", was, now
    return (
        now <= was - PREDICTION_SHIFT,
        f"share of the most predicted class {was:.1%} → {now:.1%}",
        was,
        now,
    )


def minority_recovers(before: ObservedRun, after: ObservedRun) -> Verdict:
    """The fix lets the model recognise the rarest training class (its recall rises materially):
    on validation data, or where no labelled validation pass was seen, on the last training batches
    (a loop that never validates still shows whether the rare class is learned); failing both, the
    predictions diversify."""
    counts = before.data.class_counts if before.data else {}
    if not counts:
        return predictions_diversify(before, after)
    rarest = min(counts, key=counts.__getitem__)
    for where, table in (("validation", "confusion"), ("training", "train_confusion")):
        was, now = (_recall(run, table, rarest) for run in (before, after))
        if was is not None and now is not None:
            detail = f"{where} recall of the rarest training class {was:.0%} → {now:.0%}"
            return now >= was + RECALL_GAIN, detail, was, now
    return predictions_diversify(before, after)


def _recall(run: ObservedRun, table: str, label: int) -> float | None:
    """The share of samples of class ``label`` predicted as such, in a confusion table of the run's
    loss section (the last labelled validation pass, or the last sampled training batches)."""
    confusion = getattr(run.loss, table) if run.loss else []
    row = confusion[label] if label < len(confusion) else []
    return row[label] / sum(row) if sum(row) >= MIN_RECALL_SAMPLES else None


def no_crash(before: ObservedRun, after: ObservedRun) -> Verdict:
    if _crashed(after):
        return False, f"the replay still crashed: {_crashed(after)}", None, None
    ok = after.run.steps > 0 or after.run.backward_calls > 0
    return (
        ok,
        f"with the fix the script trained {after.run.steps} steps without crashing",
        None,
        float(after.run.steps),
    )


CRITERIA: dict[str, Callable[[ObservedRun, ScenarioRun], Verdict]] = {
    "training_improves": training_improves,
    "accuracy_improves": accuracy_improves,
    "validation_improves": validation_improves,
    "predictions_diversify": predictions_diversify,
    "minority_recovers": minority_recovers,
    "no_crash": no_crash,
}
