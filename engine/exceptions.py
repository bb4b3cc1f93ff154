"""Every error the engine raises on purpose; the edges map them to HTTP status, exit codes or dead letters."""
from __future__ import annotations

from dataclasses import dataclass


class JingzhiError(Exception):
    """Base of the engine's errors. ``code`` is stable and machine-readable; the message is for people."""

    code = "error"

    def __init__(self, message: str, details: dict | list | None = None):
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "details": self.details}


class NotFound(JingzhiError):
    code = "not_found"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a deployment, located as precisely as the parser allows."""

    file: str
    message: str
    element_id: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = self.file
        if self.line:
            where += f":{self.line}"
        if self.element_id:
            where += f" [{self.element_id}]"
        return f"{where}: {self.message}"


class DeploymentRejected(JingzhiError):
    """A deployment that failed validation; nothing was stored. Carries every problem found."""

    code = "deployment_rejected"

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"deployment refused, {len(problems)} problem(s):\n{lines}",
                         [p.__dict__ for p in problems])

    @classmethod
    def single(cls, file: str, message: str) -> "DeploymentRejected":
        return cls([Problem(file, message)])


class TooLarge(JingzhiError):
    """An upload over its size limit (a deployment's file set); nothing was read further."""

    code = "too_large"


class TaskNotReady(JingzhiError):
    """The task is not waiting for a person (already completed, cancelled, or not reached)."""

    code = "task_not_ready"


class FormInvalid(JingzhiError):
    """Task data failed the task's JSON schema. ``details`` maps field paths to messages."""

    code = "form_invalid"


class NotAllowed(JingzhiError):
    """The actor may not do this to the task (e.g. it is claimed by someone else)."""

    code = "not_allowed"


class ConcurrentUpdate(JingzhiError):
    """Another worker advanced the instance first. Nothing was written; retrying is safe."""

    code = "concurrent_update"
    retryable = True


class MessageNotCorrelated(JingzhiError):
    """No running instance waits for this message with these correlation values."""

    code = "message_not_correlated"


class InstanceFailed(JingzhiError):
    """A script, condition or expression failed while the instance ran; the step was not saved."""

    code = "instance_failed"


class ScriptRefused(JingzhiError):
    """The sandbox refused a script: forbidden name, import, attribute, or it ran past its time limit."""

    code = "script_refused"


class Conflict(JingzhiError):
    """The thing to create exists already (a user name, a team code)."""

    code = "conflict"
