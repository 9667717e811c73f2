"""The prompt sandbox: Jinja's immutable sandbox with a budget on the work one render may do.

Specs are data (a pull request, an imported suite), so a template may read its variables and
use filters, tests and loops, but never reach an attribute starting with `_`, a function's
globals, or a method that changes a value (Jinja's ImmutableSandboxedEnvironment refuses
those). Jinja caps `range` at 100,000 items, but not the work of nested loops
(`range(100000)` inside `range(100000)` is 10^10 iterations) nor the size of what filters
build (`'a' * 999999 | replace('a', 'aaaa')`). So every render here also has a budget:

- MAX_STEPS loop iterations and function calls, all loops and calls together;
- MAX_RENDER_SECONDS of wall time, checked at every step and every piece of output;
- MAX_CHARS characters (or items) for any one value the template builds and for the whole
  output. Operations that could build a larger value from small inputs are checked before
  they run (`*`, `**`, `%` and format widths, `replace`, `join`, `center`, `indent`, and the
  str methods that pad); everything else a filter or call returns is checked after.

Past a bound the render raises jinja2's SecurityError saying which bound, so callers locate it
(validate names the spec and the place). The numbers are in docs/security.md.
"""

from __future__ import annotations

import contextlib
import functools
import re
import threading
import time
from typing import Any, Iterator

MAX_STEPS = 100_000            # loop iterations + calls in one render: one full range(), never two nested
MAX_RENDER_SECONDS = 2.0       # wall time of one render (a backstop: the step bound is met first)
MAX_CHARS = 4_000_000          # one value a template builds, and a whole render (about 1M tokens)
MAX_EXPONENT = 100             # `**` exponents

_ENV = None
_state = threading.local()     # the budget of the render running on this thread


class Budget:
    """Steps and a deadline; charging past either raises SecurityError. A render's budget
    also charges the budget around it (shared_budget), if any."""

    __slots__ = ("steps", "deadline", "max_steps", "seconds", "scope", "parent")

    def __init__(self, max_steps: int = MAX_STEPS, seconds: float = MAX_RENDER_SECONDS,
                 scope: str = "in one render", parent: Budget | None = None):
        self.steps, self.max_steps, self.seconds, self.scope, self.parent = 0, max_steps, seconds, scope, parent
        self.deadline = time.monotonic() + seconds

    def charge(self, steps: int = 1) -> None:
        from jinja2.exceptions import SecurityError

        self.steps += steps
        if self.steps > self.max_steps:
            raise SecurityError(f"the template did more than {self.max_steps:,} loop iterations and calls "
                                f"{self.scope} (nested loops?).")
        if time.monotonic() > self.deadline:
            raise SecurityError(f"rendering took over {self.seconds:g} s {self.scope}.")
        if self.parent is not None:
            self.parent.charge(steps)

    @property
    def spent(self) -> bool:
        return self.steps > self.max_steps or time.monotonic() > self.deadline


@contextlib.contextmanager
def shared_budget(max_steps: int, seconds: float, scope: str) -> Iterator[Budget]:
    """A budget that every render inside the block also charges: many templates rendered for
    one purpose (an import's assertion values) share one bound on their work."""
    outer = getattr(_state, "budget", None)
    budget = _state.budget = Budget(max_steps, seconds, scope, outer)
    try:
        yield budget
    finally:
        _state.budget = outer


def _charge(steps: int = 1) -> None:
    budget = getattr(_state, "budget", None)
    if budget is not None:
        budget.charge(steps)


def _too_big(what: str) -> Exception:
    from jinja2.exceptions import SecurityError

    return SecurityError(f"{what} would be over {MAX_CHARS:,} characters or items.")


def _checked(value: Any, what: str) -> Any:
    """A value a template built, refused when over MAX_CHARS."""
    if isinstance(value, (str, bytes, list, tuple, dict, set)) and len(value) > MAX_CHARS:
        raise _too_big(what)
    return value


_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\d*|\*)(?:\.(\d*|\*))?")
_BRACE_SPEC = re.compile(r"\{[^{}]*?:([^{}]*)\}")


def _check_format(fmt: Any, args: Any) -> None:
    """Refuse a format string whose width or precision (or an argument that could be one)
    is over MAX_CHARS: `'%999999999s' % x`, `'{:>999999999}'.format(x)`, `'%*s' % (10**9, x)`."""
    if not isinstance(fmt, str):
        return
    numbers = [n for m in _PERCENT_SPEC.finditer(fmt) for n in m.groups() if n and n != "*"]
    numbers += re.findall(r"\d+", " ".join(_BRACE_SPEC.findall(fmt)))
    values = args if isinstance(args, (tuple, list)) else list(args.values()) if isinstance(args, dict) else [args]
    if any(len(n) > 7 or int(n) > MAX_CHARS for n in numbers) or \
            any(isinstance(v, int) and not isinstance(v, bool) and v > MAX_CHARS for v in values):
        raise _too_big("a formatted string")


def _size(value: Any) -> int:
    return len(value) if isinstance(value, (str, list, tuple)) else len(str(value))


def _pre_filter(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """The filters whose result can be far larger than their input: their size, before they run."""
    if not args:
        return
    value = args[0]
    if name == "replace" and len(args) >= 3 and isinstance(value, str):
        old, new = str(args[1]), str(args[2])
        count = value.count(old) if old else len(value) + 1
        if len(args) > 3 and isinstance(args[3], int) and args[3] >= 0:
            count = min(count, args[3])
        if len(value) + count * (len(new) - len(old)) > MAX_CHARS:
            raise _too_big(f"replace({old[:20]!r}, {new[:20]!r})")
    elif name == "join" and isinstance(value, (list, tuple)):
        separator = str(args[1]) if len(args) > 1 else str(kwargs.get("d", ""))
        total = len(separator) * max(len(value) - 1, 0)
        for item in value:
            total += _size(item)
            if total > MAX_CHARS:
                raise _too_big("join")
    elif name in ("center", "indent", "wordwrap", "truncate"):
        width = args[1] if len(args) > 1 else kwargs.get("width", 0)
        lines = str(value).count("\n") + 1
        grow = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
        if name == "center" and grow > MAX_CHARS or name == "indent" and grow * lines > MAX_CHARS:
            raise _too_big(name)
    elif name == "format":
        _check_format(value, args[1:] or kwargs)


def _bounded_filter(name: str, function: Any) -> Any:
    @functools.wraps(function)  # keeps jinja's pass_context/pass_eval_context marks
    def bounded(*args: Any, **kwargs: Any) -> Any:
        plain = args[1:] if getattr(function, "jinja_pass_arg", None) is not None else args
        _pre_filter(name, plain, kwargs)
        return _checked(function(*args, **kwargs), f"the {name} filter's result")
    return bounded


def _loop_budget(context: Any, iterable: Any) -> Any:
    for item in iterable:
        _charge()
        yield item


_PADDING_METHODS = {"center", "ljust", "rjust", "zfill", "expandtabs"}


def _environment_class():
    import jinja2
    from jinja2 import nodes
    from jinja2 import pass_context
    from jinja2.compiler import CodeGenerator
    from jinja2.exceptions import SecurityError
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class BudgetCodeGenerator(CodeGenerator):
        """Jinja's code generator, with every `for` loop's iterable passed through the
        `loop_budget` filter (one step per item) and every `~` concatenation checked against
        MAX_CHARS. The filter takes the context, so Jinja never runs it at compile time."""

        def visit_Template(self, node, frame=None):
            for loop in node.find_all(nodes.For):
                if not (isinstance(loop.iter, nodes.Filter) and loop.iter.name == "loop_budget"):
                    loop.iter = nodes.Filter(loop.iter, "loop_budget", [], [], None, None, lineno=loop.lineno)
            super().visit_Template(node, frame)

        def visit_Concat(self, node, frame):
            self.write("environment.checked_value(")
            super().visit_Concat(node, frame)
            self.write(", '~')")

    class BudgetedTemplate(jinja2.Template):
        def render(self, *args: Any, **kwargs: Any) -> str:
            """Render within a fresh Budget (steps, time, output size); see the module doc."""
            outer = getattr(_state, "budget", None)
            budget = _state.budget = Budget(parent=outer)
            try:
                ctx = self.new_context(dict(*args, **kwargs))
                parts, size = [], 0
                try:
                    for part in self.root_render_func(ctx):
                        size += len(part)
                        if size > MAX_CHARS:
                            raise _too_big("the rendered prompt")
                        budget.charge(0)
                        parts.append(part)
                except RecursionError:
                    raise SecurityError("the template recurses too deeply (a macro calling itself?).") from None
                except Exception:
                    self.environment.handle_exception()
                return "".join(parts)
            finally:
                _state.budget = outer

    class PromptSandbox(ImmutableSandboxedEnvironment):
        code_generator_class = BudgetCodeGenerator
        template_class = BudgetedTemplate
        intercepted_binops = frozenset(["*", "**", "+", "%"])

        def __init__(self, **options: Any):
            super().__init__(**options)
            self.filters = {name: _bounded_filter(name, f) for name, f in self.filters.items()}
            self.filters["loop_budget"] = pass_context(_loop_budget)

        @staticmethod
        def checked_value(value: Any, what: str) -> Any:
            return _checked(value, f"the result of {what!r}")

        def call_binop(self, context, operator, left, right):
            if operator == "**" and isinstance(right, (int, float)) and abs(right) > MAX_EXPONENT:
                raise SecurityError(f"the exponent {right!r} is too large.")
            if operator == "*":
                for seq, times in ((left, right), (right, left)):
                    if isinstance(seq, (str, list, tuple)) and isinstance(times, int) and len(seq) * times > MAX_CHARS:
                        raise SecurityError(f"repeating a value {times} times exceeds {MAX_CHARS:,} items.")
            if operator == "%":
                _check_format(left, right)
            return _checked(super().call_binop(context, operator, left, right), f"the result of {operator!r}")

        def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 - jinja's own spelling
            _charge()
            if getattr(__obj, "__name__", None) in _PADDING_METHODS and isinstance(getattr(__obj, "__self__", None), str):
                if any(isinstance(a, int) and a > MAX_CHARS for a in (*args, *kwargs.values())):
                    raise _too_big(f"str.{__obj.__name__}")
            return _checked(super().call(__context, __obj, *args, **kwargs), "a call's result")

        def wrap_str_format(self, value):
            wrapped = super().wrap_str_format(value)
            if wrapped is None:
                return None
            fmt = value.__self__

            @functools.wraps(wrapped)
            def bounded(*args: Any, **kwargs: Any) -> str:
                given = [*args, *kwargs.values()]
                if value.__name__ == "format_map" and args and isinstance(args[0], dict):
                    given = list(args[0].values())
                _check_format(fmt, given)
                return _checked(wrapped(*args, **kwargs), "a formatted string")
            return bounded

    return PromptSandbox


def prompt_env():
    """The prompt environment (one per process): Jinja's immutable sandbox, undefined
    variables are errors, and every render has the budget described in the module doc."""
    global _ENV
    if _ENV is None:
        import jinja2

        _ENV = _environment_class()(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)
    return _ENV
