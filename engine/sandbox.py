"""The sandbox every diagram script, condition, timer, message and DMN expression runs in.

Diagrams are uploaded by people, so their Python is untrusted. SpiffWorkflow's default engine ``exec``s with full
builtins (an uploaded diagram could run ``__import__('os').system(...)``), and trimming builtins alone is escapable
through ``().__class__.__base__.__subclasses__()``. Here every source is compiled with RestrictedPython, which refuses
underscore names and attributes at compile time and routes attribute, item and iteration access through guards at
run time. RestrictedPython does not bound CPU, so the compiler also plants a deadline check at the top of every loop
and function body and in every iteration, and the operators that can build huge values in one C call (``**``, ``*``,
``<<``) go through size checks. Those checks cannot see inside one C call (``math.factorial(10**6)``,
``'x'.ljust(10**10)``), so whatever is not trivially cheap runs in a sandbox worker process with operating-system
limits on CPU time and memory and a wall-clock deadline (:mod:`engine.sandbox_pool`); whatever it raises, even
``SystemExit``, comes back as an ordinary step failure.
"""
from __future__ import annotations

import ast
import builtins
import datetime as _dt
import decimal as _decimal
import json as _json
import math as _math
import time
from functools import lru_cache
from types import SimpleNamespace

from RestrictedPython import compile_restricted_eval, compile_restricted_exec, safe_builtins
from RestrictedPython.Guards import (full_write_guard, guarded_iter_unpack_sequence, guarded_unpack_sequence,
                                     safer_getattr)
from RestrictedPython.PrintCollector import PrintCollector
from RestrictedPython.transformer import RestrictingNodeTransformer
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException

from . import defaults, operators, sandbox_pool
from .exceptions import ScriptRefused
from .sandbox_codec import NotPlainData, encode

#: Largest integer result (in bits) and sequence length an operator may build in one step.
MAX_INT_BITS = 100_000
MAX_SEQUENCE_LEN = 10_000_000
#: How many iterations pass between two looks at the clock inside one loop.
GUARD_EVERY = 1024

_GUARD = "_jz_guard_"
_POW, _MUL, _LSHIFT = "_jz_pow_", "_jz_mul_", "_jz_lshift_"


def _size_of(value) -> int:
    return len(value) if isinstance(value, (str, bytes, list, tuple)) else 0


def guarded_pow(base, exp, mod=None):
    if mod is None and isinstance(base, int) and isinstance(exp, int) and exp > 0 and abs(base) > 1:
        if base.bit_length() * exp > MAX_INT_BITS:
            raise ScriptRefused(f"result of {base} ** {exp} would be too large")
    return pow(base, exp) if mod is None else pow(base, exp, mod)


def guarded_mul(a, b):
    if isinstance(a, int) and isinstance(b, int):
        if a.bit_length() + b.bit_length() > MAX_INT_BITS:
            raise ScriptRefused("product would be too large")
    elif isinstance(b, int) and _size_of(a) * b > MAX_SEQUENCE_LEN or \
            isinstance(a, int) and _size_of(b) * a > MAX_SEQUENCE_LEN:
        raise ScriptRefused("repeated sequence would be too long")
    return a * b


def guarded_lshift(a, b):
    if isinstance(a, int) and isinstance(b, int) and a.bit_length() + b > MAX_INT_BITS:
        raise ScriptRefused("shifted value would be too large")
    return a << b


_INPLACE = {"+=": lambda a, b: a + b, "-=": lambda a, b: a - b, "*=": guarded_mul, "/=": lambda a, b: a / b,
            "//=": lambda a, b: a // b, "%=": lambda a, b: a % b, "**=": guarded_pow, "<<=": guarded_lshift,
            ">>=": lambda a, b: a >> b, "|=": lambda a, b: a | b, "&=": lambda a, b: a & b,
            "^=": lambda a, b: a ^ b}


def _inplacevar(op, a, b):
    try:
        return _INPLACE[op](a, b)
    except KeyError:
        raise ScriptRefused(f"operator {op} is not allowed") from None


def capped_range(*args):
    r = range(*args)
    if len(r) > MAX_SEQUENCE_LEN:
        raise ScriptRefused(f"range of {len(r)} items is too long")
    return r


#: Modules a script may import, as facades: a real module would hand out what it imported itself
#: (``json.codecs.open``), a facade only the names listed.
_MODULES = {
    "math": _math,
    "datetime": SimpleNamespace(datetime=_dt.datetime, date=_dt.date, time=_dt.time,
                                timedelta=_dt.timedelta, timezone=_dt.timezone),
    "decimal": SimpleNamespace(Decimal=_decimal.Decimal),
    "json": SimpleNamespace(loads=_json.loads, dumps=_json.dumps),
}


def _import(name, globals=None, locals=None, fromlist=(), level=0):
    if level != 0 or name not in _MODULES:
        raise ScriptRefused(f"import of '{name}' is not allowed (allowed: {', '.join(sorted(_MODULES))})")
    return _MODULES[name]


_MISSING = object()


def guarded_getattr(ob, name, *default):
    """RestrictedPython's safer_getattr, but a missing attribute is an AttributeError, not a silent None."""
    value = safer_getattr(ob, name, *(default or (_MISSING,)))
    if value is _MISSING:
        raise AttributeError(f"{type(ob).__name__!r} object has no attribute {name!r}")
    return value


_BUILTINS = dict(safe_builtins)
_BUILTINS.update(
    __import__=_import, range=capped_range, pow=guarded_pow,
    dict=dict, list=list, tuple=tuple, set=set, frozenset=frozenset, sum=sum, min=min, max=max, any=any,
    all=all, sorted=sorted, reversed=reversed, enumerate=enumerate, zip=zip, map=map, filter=filter,
    getattr=guarded_getattr,
)
BUILTINS = _BUILTINS  # a dict: exec needs one; scripts cannot reach it (underscore name)


class _Policy(RestrictingNodeTransformer):
    """RestrictedPython's policy plus deadline checks and size-checked operators."""

    def _guarded_body(self, node):
        call = ast.Expr(ast.Call(func=ast.Name(_GUARD, ast.Load()), args=[], keywords=[]))
        node.body.insert(0, _located(call, node))
        return node

    def visit_While(self, node):
        return self._guarded_body(super().visit_While(node))

    def visit_For(self, node):
        return self._guarded_body(super().visit_For(node))

    def visit_FunctionDef(self, node):
        return self._guarded_body(super().visit_FunctionDef(node))

    def visit_BinOp(self, node):
        node = super().visit_BinOp(node)
        name = {ast.Pow: _POW, ast.Mult: _MUL, ast.LShift: _LSHIFT}.get(type(node.op))
        if name is None:
            return node
        call = ast.Call(func=ast.Name(name, ast.Load()), args=[node.left, node.right], keywords=[])
        return _located(call, node)


def _located(new: ast.AST, old: ast.AST) -> ast.AST:
    """Give a planted node and its children the source position of the node it guards."""
    for child in ast.walk(new):
        if "lineno" in child._attributes:
            ast.copy_location(child, old)
    return new


@lru_cache(maxsize=4096)
def compile_source(source: str, mode: str):
    """Compile a script (mode 'exec') or expression ('eval') in the sandbox. Cached: diagrams repeat them."""
    compiler = compile_restricted_exec if mode == "exec" else compile_restricted_eval
    # "<string>" is the frame name SpiffWorkflow looks for to report the line a script failed on
    result = compiler(source, filename="<string>", policy=_Policy)
    if result.errors:
        raise ScriptRefused("; ".join(result.errors), details=list(result.errors))
    return result.code


def check_source(source: str, mode: str) -> list[str]:
    """The compile errors of a source, empty when it is fine (used by deployment validation).

    Imports are checked here too, so a script importing ``os`` is refused when it is deployed, not when a case
    first reaches it.
    """
    try:
        compile_source(source, mode)
    except ScriptRefused as refused:
        return list(refused.details or [refused.message])
    errors = []
    for node in ast.walk(ast.parse(source, mode=mode)):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
            [node.module or ""] if isinstance(node, ast.ImportFrom) else []
        errors += [f"Line {node.lineno}: import of '{name}' is not allowed (allowed: {', '.join(sorted(_MODULES))})"
                   for name in names if name not in _MODULES]
    return errors


class SandboxEnvironment(TaskDataEnvironment):
    """Task-data environment whose every eval/exec runs restricted code under a deadline.

    Cheap sources (:func:`is_cheap`: the usual gateway conditions, ``dueIn`` values and one-line assignments) run
    here, in the engine's process; everything else runs in a sandbox worker process with CPU, memory and
    wall-clock limits (:mod:`engine.sandbox_pool`), and only plain data crosses (:mod:`engine.sandbox_codec`).
    """

    def __init__(self, time_limit_s: float = defaults.SCRIPT_TIME_LIMIT_S,
                 memory_limit_mb: int = defaults.SCRIPT_MEMORY_LIMIT_MB):
        super().__init__(environment_globals={})
        self.time_limit_s = time_limit_s
        self.memory_limit_mb = memory_limit_mb

    def _runtime(self) -> dict:
        deadline = time.monotonic() + self.time_limit_s
        limit = self.time_limit_s

        def check_deadline():
            if time.monotonic() > deadline:
                raise ScriptRefused(f"script stopped: it ran longer than its {limit:g} s time limit")

        def guarded_iter(ob):
            for count, item in enumerate(ob):
                if count % GUARD_EVERY == 0:
                    check_deadline()
                yield item

        return {
            "__builtins__": BUILTINS, "_getattr_": guarded_getattr, "_getitem_": lambda ob, i: ob[i],
            "_getiter_": guarded_iter, "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
            "_unpack_sequence_": guarded_unpack_sequence, "_write_": full_write_guard,
            "_inplacevar_": _inplacevar, "_apply_": lambda f, *a, **kw: f(*a, **kw), "_print_": PrintCollector,
            _GUARD: check_deadline, _POW: guarded_pow, _MUL: guarded_mul, _LSHIFT: guarded_lshift,
        }

    def evaluate(self, expression, context, external_context=None):
        if is_cheap(expression, "eval"):
            return self.evaluate_here(expression, context, external_context)
        answer = self._in_worker("eval", expression, context, external_context)
        return answer["value"]

    def execute(self, script, context, external_context=None):
        self.check_for_overwrite(context, external_context or {})
        if is_cheap(script, "exec"):
            return self.execute_here(script, context, external_context)
        answer = self._in_worker("exec", script, context, external_context)
        context.clear()
        context.update(answer["context"])
        return True

    def _in_worker(self, mode: str, source: str, context: dict, external_context) -> dict:
        compile_source(source, mode)  # refused here already: no need to ask a worker
        try:
            request = {"mode": mode, "source": source, "time_limit_s": self.time_limit_s,
                       "memory_limit_bytes": int(self.memory_limit_mb * 1024 * 1024),
                       "context": {k: encode(v, k) for k, v in context.items()},
                       "external": {k: encode(v, k) for k, v in (external_context or {}).items()}}
        except NotPlainData as err:
            raise ScriptRefused(f"task data {err}") from None
        try:
            answer = sandbox_pool.pool().run(request, self.time_limit_s)
        except sandbox_pool.WorkerLost as lost:
            if lost.reason == "memory":
                raise ScriptRefused(f"script exceeded its memory limit of {self.memory_limit_mb:g} MB") from None
            if lost.reason in ("cpu", "deadline"):
                raise ScriptRefused(f"script exceeded its {'CPU ' if lost.reason == 'cpu' else ''}time limit of "
                                    f"{self.time_limit_s:g} s") from None
            raise ScriptRefused("the sandbox process running the script died") from None
        if answer["ok"]:
            return answer
        raise _error_of(answer, self.memory_limit_mb)

    def evaluate_here(self, expression, context, external_context=None):
        """Evaluate in this process (cheap expressions here, everything in a sandbox worker)."""
        code = compile_source(expression, "eval")
        scope = self._runtime()
        scope.update(external_context or {})
        scope.update(context)
        return eval(code, scope)

    def execute_here(self, script, context, external_context=None):
        """Execute in this process (cheap scripts here, everything in a sandbox worker)."""
        code = compile_source(script, "exec")
        runtime = self._runtime()
        scope = dict(runtime)
        scope.update(external_context or {})
        scope.update(context)
        exec(code, scope)
        # Keep only plain data in the task: no helpers, functions, classes or module facades.
        hidden = set(runtime) | set(external_context or {})
        for key in [k for k in context if k not in scope]:
            del context[key]
        for key, value in scope.items():
            if key in hidden or key.startswith("_") or callable(value) or isinstance(value, SimpleNamespace) \
                    or value is _math:
                context.pop(key, None)
            else:
                context[key] = value
        return True


def _error_of(answer: dict, memory_limit_mb: float) -> Exception:
    """The exception a worker's answer stands for, carrying the script line it was raised on (``jz_line``)."""
    kind, message = answer["kind"], answer.get("message") or ""
    if kind == "memory":
        err: Exception = ScriptRefused(f"script exceeded its memory limit of {memory_limit_mb:g} MB")
    elif kind == "refused":
        err = ScriptRefused(message)
    elif kind == "base":  # SystemExit, KeyboardInterrupt, GeneratorExit...: a step failure, never the engine's
        err = ScriptRefused(f"script raised {answer['type']}" + (f": {message}" if message else "")
                            + "; a diagram may not stop the engine")
    else:
        builtin = getattr(builtins, answer["type"], None) if answer.get("builtin") else None
        cls = builtin if isinstance(builtin, type) and issubclass(builtin, Exception) and \
            builtin.__init__ is not OSError.__init__ else None
        try:
            err = cls(message) if cls is not None else None
        except Exception:  # noqa: BLE001 - an exception class that takes other arguments
            err = None
        if err is None:  # the script's own exception class: same name, no code of the script's comes back
            err = type(str(answer["type"]), (Exception,), {})(message)
    err.jz_line = answer.get("line")
    return err


#: Calls a cheap source may make: builtins whose time and memory are bounded by the size of their arguments.
_CHEAP_CALLS = frozenset({"len", "str", "int", "float", "bool", "abs", "min", "max", "any", "all", "sorted",
                          "list", "tuple", "dict", "set", "isinstance"})
_CHEAP_NODES = (ast.Expression, ast.Module, ast.Expr, ast.Assign, ast.Pass, ast.Name, ast.Constant, ast.Load,
                ast.Store, ast.Attribute, ast.Subscript, ast.Slice, ast.Compare, ast.BoolOp, ast.UnaryOp, ast.IfExp,
                ast.List, ast.Tuple, ast.Dict, ast.Set, ast.Starred, ast.keyword, ast.JoinedStr, ast.FormattedValue,
                ast.And, ast.Or, ast.Not, ast.USub, ast.UAdd, ast.Invert, ast.Eq, ast.NotEq, ast.Lt, ast.LtE,
                ast.Gt, ast.GtE, ast.In, ast.NotIn, ast.Is, ast.IsNot, ast.Add, ast.Sub, ast.Div, ast.FloorDiv)
#: A cheap script has at most this many statements: each can at most double what the data holds.
_CHEAP_STATEMENTS = 4


@lru_cache(maxsize=4096)
def _parse_error(expression: str) -> tuple | None:
    """The arguments of the SyntaxError parsing ``expression`` raises, or None. Only the arguments are kept: the
    exception's traceback would keep every frame of the caller's stack alive (workflows, connections)."""
    try:
        ast.parse(expression)
    except SyntaxError as err:
        return err.args
    return None


@lru_cache(maxsize=4096)
def is_cheap(source: str, mode: str) -> bool:
    """Whether a source surely runs in time and memory bounded by its task data, whatever that data is.

    No loops, comprehensions, functions, lambdas, ``**``, ``*``, ``%`` or format specs; calls only to
    :data:`_CHEAP_CALLS`. Such a source runs in this process (microseconds); any other goes to a worker.
    """
    try:
        tree = ast.parse(source, mode=mode)
    except SyntaxError:
        return False
    if mode == "exec" and len(tree.body) > _CHEAP_STATEMENTS:
        return False
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            if not (isinstance(node.func, ast.Name) and node.func.id in _CHEAP_CALLS):
                return False
        elif isinstance(node, ast.AugAssign):
            if not isinstance(node.op, (ast.Add, ast.Sub)) or not isinstance(node.value, ast.Constant):
                return False
        elif isinstance(node, ast.FormattedValue):
            if node.format_spec is not None:
                return False
        elif isinstance(node, ast.BinOp):
            if not isinstance(node.op, (ast.Add, ast.Sub, ast.Div, ast.FloorDiv)):
                return False
        elif not isinstance(node, _CHEAP_NODES):
            return False
    return True


class SandboxScriptEngine(PythonScriptEngine):
    """Spiff's script engine on the sandbox environment, with Spiff's broken service-call error path mended."""

    def __init__(self, time_limit_s: float = defaults.SCRIPT_TIME_LIMIT_S,
                 memory_limit_mb: int = defaults.SCRIPT_MEMORY_LIMIT_MB):
        super().__init__(environment=SandboxEnvironment(time_limit_s, memory_limit_mb))

    def get_error_line_number_and_content(self, script, err):
        line = getattr(err, "jz_line", None)
        if line:  # raised in a sandbox worker: its traceback stayed there, the line came with the answer
            lines = script.splitlines()
            return line, lines[line - 1] if 0 < line <= len(lines) else ""
        return super().get_error_line_number_and_content(script, err)

    def call_service(self, task, operation_name=None, operation_params=None, **kwargs):
        # The service operators are the engine's own (engine.operators): nothing a diagram names runs outside it.
        try:
            return _json.dumps(operators.call(operation_name, operation_params or {}), ensure_ascii=False)
        except Exception as err:  # Spiff's own version raises NameError here (see SPIFFWORKFLOW.md)
            raise WorkflowTaskException(f"service call failed: {err}", task=task, exception=err) from err

    def validate(self, expression):
        # Used by Spiff's DMN engine to decide how to read a cell; keep its SyntaxError contract. Called for every
        # cell of every evaluation: the parse is cached, as compile_source's is.
        error = _parse_error(expression)
        if error is not None:
            raise SyntaxError(*error)
