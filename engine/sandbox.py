"""The sandbox every diagram script, condition, timer, message and DMN expression runs in.

Diagrams are uploaded by people, so their Python is untrusted. SpiffWorkflow's default engine ``exec``s with full
builtins (an uploaded diagram could run ``__import__('os').system(...)``), and trimming builtins alone is escapable
through ``().__class__.__base__.__subclasses__()``. Here every source is compiled with RestrictedPython, which refuses
underscore names and attributes at compile time and routes attribute, item and iteration access through guards at
run time. RestrictedPython does not bound CPU, so the compiler also plants a deadline check at the top of every loop
and function body and in every iteration, and the operators that can build huge values in one C call (``**``, ``*``,
``<<``) go through size checks.
"""
from __future__ import annotations

import ast
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

from . import defaults
from .exceptions import ScriptRefused

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
    """Task-data environment whose every eval/exec runs restricted code under a deadline."""

    def __init__(self, time_limit_s: float = defaults.SCRIPT_TIME_LIMIT_S):
        super().__init__(environment_globals={})
        self.time_limit_s = time_limit_s

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
        code = compile_source(expression, "eval")
        scope = self._runtime()
        scope.update(external_context or {})
        scope.update(context)
        return eval(code, scope)

    def execute(self, script, context, external_context=None):
        self.check_for_overwrite(context, external_context or {})
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


class SandboxScriptEngine(PythonScriptEngine):
    """Spiff's script engine on the sandbox environment, with Spiff's broken service-call error path mended."""

    def __init__(self, time_limit_s: float = defaults.SCRIPT_TIME_LIMIT_S):
        super().__init__(environment=SandboxEnvironment(time_limit_s))

    def call_service(self, task, **kwargs):
        try:
            return self.environment.call_service(task.data, **kwargs)
        except Exception as err:  # Spiff's own version raises NameError here (see SPIFFWORKFLOW.md)
            raise WorkflowTaskException(f"service call failed: {err}", task=task, exception=err) from err

    def validate(self, expression):
        # Used by Spiff's DMN engine to decide how to read a cell; keep its SyntaxError contract.
        ast.parse(expression)
