"""The patch for the top cause: its edits made on the user's code, the diff, and the run of the
patched copy. The result is evidence (``Evidence.patch``); whether it holds is judged by the rules
(``diagnose.rules.patched``), like every other run."""

from __future__ import annotations

from collections import defaultdict

from diagnose.diagnosis import CauseReport, Diagnosis
from diagnose.driver.progress import Progress
from diagnose.driver.targets import Target
from diagnose.evidence import Evidence, PatchAttempt, PatchedFile
from diagnose.patch.catalog import EDITS
from diagnose.patch.context import Change, Context
from diagnose.patch.diff import unified_diff
from diagnose.patch.notebook import as_notebook_patch
from diagnose.patch.project import Project
from diagnose.patch.source import NoEdit, SourceFile, apply
from diagnose.patch.verify import RunSettings, run_patched
from diagnose.rules.engine import LIKELY
from diagnose.rules.loader import RuleBook

NO_EDIT = "nn-diagnose has no source edit for this cause yet; apply the fix above by hand"


def attempt_patch(
    diagnosis: Diagnosis,
    evidence: Evidence,
    book: RuleBook,
    target: Target,
    settings: RunSettings,
    progress: Progress | None = None,
) -> PatchAttempt | None:
    """Patch the top cause and run the patched copy; None when there is no likely cause to fix."""
    top = diagnosis.top
    if top is None or diagnosis.healthy or top.confidence < LIKELY:
        return None
    try:
        attempt = propose(top, evidence, book, project(target))
        if target.notebook is not None:
            attempt = as_notebook_patch(target.notebook, attempt)
        if attempt.files:
            attempt.run, leftover = run_patched(target, attempt, settings, progress)
            if leftover:  # the diagnosis's notes are the observed run's
                evidence.observe.run.notes.append(leftover)
    except Exception as error:  # a patch that cannot be made must never cost the user the diagnosis
        return PatchAttempt(
            cause=top.id,
            not_offered=f"the patch could not be made ({type(error).__name__}: {error})",
        )
    return attempt


def project(target: Target) -> Project:
    """The user's code the patch may edit; for a notebook, the program its cells make."""
    notebook = target.notebook
    return Project(target.script, {notebook.path: notebook.code} if notebook else None)


def propose(
    cause: CauseReport, evidence: Evidence, book: RuleBook, project: Project
) -> PatchAttempt:
    """The edits of the cause's fix on the user's files, or why there are none."""
    rule = book.causes.get(cause.id)
    attempt = PatchAttempt(cause=cause.id, edit=rule.patch if rule else "", root=str(project.root))
    if rule is None or not rule.patch:
        reason = f"not a local edit: {rule.not_local}" if rule and rule.not_local else NO_EDIT
        return attempt.model_copy(update={"not_offered": reason})
    if cause.confirmation is not None and not cause.confirmation.confirmed:
        return attempt.model_copy(
            update={
                "not_offered": "the replay with its fix did not remove the failure "
                f"({cause.confirmation.summary}), so a patch would not either"
            }
        )
    if rule.patch not in EDITS:
        return attempt.model_copy(
            update={"not_offered": f"the rule names an unknown source edit '{rule.patch}'"}
        )
    try:
        changes = EDITS[rule.patch](Context(project, evidence))
        files, diff = patched(project, changes)
    except NoEdit as reason:
        return attempt.model_copy(update={"not_offered": f"no local edit found: {reason}"})
    notes = [f"{project.relative(c.source)}: {c.note}" for c in changes]
    return attempt.model_copy(update={"changes": notes, "files": files, "diff": diff})


def patched(project: Project, changes: list[Change]) -> tuple[list[PatchedFile], str]:
    """Each changed file's new text (which must still be Python), and the diff of them all."""
    edits: dict[SourceFile, list] = defaultdict(list)
    for change in changes:
        edits[change.source].append(change.edit)
    texts: dict[str, tuple[str, str]] = {}
    for source, file_edits in edits.items():
        new = apply(source.text, file_edits)
        try:
            compile(new, str(source.path), "exec")
        except SyntaxError as error:
            raise NoEdit(f"the edit would leave {source.path.name} invalid ({error.msg})") from None
        if new != source.text:
            texts[project.relative(source)] = (source.text, new)
    if not texts:
        raise NoEdit("the edit changes nothing")
    files = [PatchedFile(path=path, text=new) for path, (_, new) in sorted(texts.items())]
    return files, unified_diff(texts)
