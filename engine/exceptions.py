"""Every error the engine raises on purpose; the edges map them to HTTP status, exit codes or dead letters."""
from __future__ import annotations

from dataclasses import dataclass


class Message(str):
    """A sentence for people, in English, that the edges can say in the reader's language.

    ``Message(template, **params)`` is the English text ``template.format(**params)``: a plain ``str`` everywhere
    (comparisons, f-strings, logs, JSON, the CLI), that also remembers its template and params. The template is the
    msgid of ``webui/translations`` (pybabel extracts ``Message("...")`` calls from engine/, docs/i18n.md); the web
    layer says it with the catalogue's translation and the params said the same way (``webui.i18n.say``). A param
    that is itself a Message ("condition of the flow to {target}") is translated too; library text (lxml's,
    SpiffWorkflow's, Python's, jsonschema's), ids, codes and numbers stay as they are. Literal braces in a template
    are written ``{{`` ``}}``; better, pass the example as a param. The engine knows no language but English.
    """

    template: str
    params: dict

    def __new__(cls, template: str, /, **params: object) -> "Message":
        self = super().__new__(cls, template.format(**params))
        self.template = template
        self.params = params
        return self

    def __reduce__(self):  # pickled with its template (the English text alone may hold braces)
        return _message, (self.template, self.params)

    @classmethod
    def join(cls, separator: str, parts) -> "Message":
        """``separator.join(parts)`` keeping each part translatable (the joined template is only placeholders)."""
        parts = list(parts)
        template = separator.replace("{", "{{").replace("}", "}}").join(f"{{_{i}}}" for i in range(len(parts)))
        return cls(template, **{f"_{i}": part for i, part in enumerate(parts)})


def _message(template: str, params: dict) -> Message:
    return Message(template, **params)


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
        return str(self.said())

    def said(self) -> Message:
        """The problem as one line, ``file:line [element]: message``, translatable like its message."""
        where = self.file
        if self.line:
            where += f":{self.line}"
        if self.element_id:
            where += f" [{self.element_id}]"
        return Message("{where}: {message}", where=where, message=self.message)


class DeploymentRejected(JingzhiError):
    """A deployment that failed validation; nothing was stored. Carries every problem found."""

    code = "deployment_rejected"

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        lines = Message.join("\n", (Message("  - {problem}", problem=p.said()) for p in problems))
        super().__init__(Message("deployment refused, {count} problem(s):\n{problems}", count=len(problems),
                                 problems=lines), [p.__dict__ for p in problems])

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


class SearchRefused(ValueError):
    """A search parameter that cannot be used, with the parameter's name; the message is a Message, said in the
    reader's language by the web layer."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
