"""Where a pod's hooks come from: snapbridge.io annotations, Velero's annotations, config rules.

For each pod the first source that declares anything wins, for both pre and post hooks:

1. ``snapbridge.io/`` annotations (``ANNOTATIONS`` below; ``fsfreeze`` is a shorthand);
2. Velero's ``pre.hook.backup.velero.io/*`` and ``post.hook.backup.velero.io/*``, read as
   Velero reads them (a command that is not a JSON array is one argv element);
3. the first matching :class:`~.config.HookRule` of the ``quiesce.hooks`` config.

``snapbridge.io/quiesce-order`` and ``snapbridge.io/quiesce-max-hold`` apply whatever the
source. Defaults follow Velero: first container, on-error ``Fail``, timeout ``30s``.
"""

from __future__ import annotations

import json

from pydantic import Field, ValidationError

from ...errors import PermanentError
from ...models import Model, PodRef
from .config import ExecHook, OnError, QuiesceSettings, parse_duration

PREFIX = "snapbridge.io/"
FIELDS = ("container", "command", "timeout", "on-error")
ANN_FSFREEZE = PREFIX + "fsfreeze"
ANN_ORDER = PREFIX + "quiesce-order"
ANN_MAX_HOLD = PREFIX + "quiesce-max-hold"
VELERO_PREFIX = {"pre": "pre.hook.backup.velero.io/", "post": "post.hook.backup.velero.io/"}
MAX_HOLD_VAR = "$(SNAPBRIDGE_MAX_HOLD_SECONDS)"

#: Every snapbridge.io annotation this plugin reads.
ANNOTATIONS: tuple[str, ...] = (
    *(f"{PREFIX}{phase}-hook-{f}" for phase in ("pre", "post") for f in FIELDS),
    ANN_FSFREEZE,
    ANN_ORDER,
    ANN_MAX_HOLD,
)

#: The self-thawing freeze: freeze, leave a background thaw after "$2" seconds, return at once.
#: A real ``sh`` script; the sandbox's simulated kubelet recognises exactly this text.
AUTO_THAW_SCRIPT = (
    'fsfreeze --freeze "$1" || exit $?; '
    '(sleep "$2"; fsfreeze --unfreeze "$1") >/dev/null 2>&1 </dev/null & exit 0'
)


def auto_thaw_argv(path: str, seconds: str = MAX_HOLD_VAR) -> list[str]:
    """argv of the self-thawing fsfreeze of ``path`` (the user's form, not a wrapper of ours)."""
    return ["sh", "-c", AUTO_THAW_SCRIPT, "fsfreeze-auto-thaw", path, seconds]


class HookSpecError(PermanentError):
    """A pod's hook declaration cannot be used (bad JSON, unknown on-error, bad duration)."""


class PodHooks(Model):
    """The resolved hooks of one pod: what to run to freeze it and to thaw it."""

    pod: PodRef
    source: str
    pre: list[ExecHook] = Field(default_factory=list)
    post: list[ExecHook] = Field(default_factory=list)
    order: int = 0
    max_hold: float

    @property
    def key(self) -> str:
        return f"{self.pod.namespace}/{self.pod.name}"


def resolve(pod: PodRef, settings: QuiesceSettings) -> PodHooks | None:
    """The pod's hooks, or ``None`` when nothing declares any. Raises :class:`HookSpecError`."""
    ann = pod.annotations
    where = f"pod {pod.namespace}/{pod.name}"
    rule = next((r for r in settings.hooks if r.selects(pod.namespace, pod.labels)), None)
    try:
        order = int(ann[ANN_ORDER]) if ANN_ORDER in ann else (rule.order if rule else 0)
        hold = (
            parse_duration(ann[ANN_MAX_HOLD])
            if ANN_MAX_HOLD in ann
            else (rule.max_hold if rule and rule.max_hold else settings.max_hold)
        )
    except ValueError as exc:
        raise HookSpecError(
            f"{where}: {ANN_ORDER} or {ANN_MAX_HOLD} is invalid: {exc}",
            hint="quiesce-order is an integer; quiesce-max-hold a duration such as 45s",
        ) from exc
    if any(
        k.startswith(f"{PREFIX}pre-hook-") or k.startswith(f"{PREFIX}post-hook-") for k in ann
    ) or (ANN_FSFREEZE in ann):
        source = "snapbridge.io annotations"
        pre, post = _ours(pod, "pre"), _ours(pod, "post")
        paths = [p.strip() for p in ann.get(ANN_FSFREEZE, "").split(",") if p.strip()]
        pre += [_hook(pod, "pre", auto_thaw_argv(p), PREFIX + "pre-hook-") for p in paths]
        post = [
            _hook(pod, "post", ["fsfreeze", "--unfreeze", p], PREFIX + "post-hook-") for p in paths
        ] + post
    elif any(
        k.startswith(VELERO_PREFIX["pre"]) or k.startswith(VELERO_PREFIX["post"]) for k in ann
    ):
        source = "velero annotations"
        pre, post = _velero(pod, "pre"), _velero(pod, "post")
    elif rule is not None:
        source = f"config rule {rule.name}"
        pre = [_defaults(pod, h) for h in rule.pre]
        post = [_defaults(pod, h) for h in rule.post]
    else:
        return None
    if not pre and not post:
        return None
    seconds = f"{hold:g}"
    return PodHooks(
        pod=pod,
        source=source,
        pre=[_substitute(h, seconds) for h in pre],
        post=[_substitute(h, seconds) for h in post],
        order=order,
        max_hold=hold,
    )


def _defaults(pod: PodRef, hook: ExecHook) -> ExecHook:
    if hook.container or not pod.containers:
        return hook
    return hook.model_copy(update={"container": pod.containers[0]})


def _substitute(hook: ExecHook, seconds: str) -> ExecHook:
    if not any(MAX_HOLD_VAR in a for a in hook.command):
        return hook
    return hook.model_copy(
        update={"command": [a.replace(MAX_HOLD_VAR, seconds) for a in hook.command]}
    )


def _hook(pod: PodRef, phase: str, argv: list[str], prefix: str) -> ExecHook:
    ann = pod.annotations
    raw = {
        "container": ann.get(prefix + "container") or None,
        "command": argv,
        "on_error": ann.get(prefix + "on-error") or OnError.FAIL,
        "timeout": ann.get(prefix + "timeout") or 30.0,
    }
    try:
        return _defaults(pod, ExecHook.model_validate(raw))
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise HookSpecError(
            f"pod {pod.namespace}/{pod.name}: {phase} hook annotations {prefix}* are invalid: "
            f"{problems}",
            hint="on-error is Fail or Continue; timeout a duration such as 30s",
        ) from exc


def _ours(pod: PodRef, phase: str) -> list[ExecHook]:
    prefix = f"{PREFIX}{phase}-hook-"
    raw = pod.annotations.get(prefix + "command")
    if raw is None:
        return []
    try:
        argv = json.loads(raw)
    except ValueError:
        argv = None
    if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
        raise HookSpecError(
            f"pod {pod.namespace}/{pod.name}: {prefix}command must be a JSON array of strings, "
            f"got {raw!r}",
            hint='e.g. \'["fsfreeze", "--freeze", "/data"]\'; it is never run through a shell',
        )
    return [_hook(pod, phase, argv, prefix)]


def _velero(pod: PodRef, phase: str) -> list[ExecHook]:
    prefix = VELERO_PREFIX[phase]
    raw = pod.annotations.get(prefix + "command")
    if raw is None:
        return []
    try:
        parsed = json.loads(raw)
    except ValueError:
        parsed = None
    is_argv = isinstance(parsed, list) and parsed and all(isinstance(a, str) for a in parsed)
    argv = list(parsed) if is_argv else [raw]  # Velero: not a JSON array -> one element
    return [_hook(pod, phase, argv, prefix)]
