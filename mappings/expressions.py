"""Safe arithmetic over a mapping's named queries: `bugs / all * 100`.

An expression is parsed with Python's `ast` and checked against a short list of what it may
hold: numbers, the names of the mapping's queries, `+ - * /`, unary minus, parentheses, and
calls to `min`, `max`, `round` and `abs`. Anything else (attributes, subscripts, `**`, other
calls, comparisons) is refused when the mapping is loaded, so evaluation never runs code. A
division by zero, or a result that is not a finite number, is "no data", not a crash.

Example:
    ```python
    check_expression("bugs / all * 100", names={"bugs", "all"})       # passes
    evaluate_expression("bugs / all * 100", {"bugs": 3.0, "all": 60.0})  # 5.0
    evaluate_expression("bugs / all * 100", {"bugs": 3.0, "all": 0.0})   # None: no data
    ```
"""

from __future__ import annotations

import ast
import difflib
import functools
import math
from collections.abc import Collection, Mapping

from mappings.errors import ExpressionError

FUNCTIONS: tuple[str, ...] = ("abs", "max", "min", "round")
"""The functions an expression may call."""
MAX_LENGTH = 500
"""The longest expression accepted (keeps parsing and evaluation shallow)."""
_ALLOWED = "numbers, query names, + - * / ( ) and min(), max(), round(), abs()"
_OPERATOR_NAMES = {
    ast.Pow: "**",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.MatMult: "@",
    ast.BitAnd: "&",
    ast.BitOr: "|",
    ast.BitXor: "^",
    ast.LShift: "<<",
    ast.RShift: ">>",
}


class _NoData(Exception):
    """Raised inside evaluation for a division by zero or a non-finite intermediate value."""


def check_expression(text: str, *, names: Collection[str]) -> frozenset[str]:
    """Check `text` is a safe expression over `names`; return the names it uses.

    Args:
        text: The expression.
        names: The mapping's query names.

    Returns:
        The query names the expression uses.

    Raises:
        ExpressionError: A syntax error, a node that is not allowed, or an unknown name (with the
            closest query name).
    """
    tree = _parse(text)
    used: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not _is_function(node, tree):
            if node.id not in names:
                close = difflib.get_close_matches(node.id, list(names), n=1, cutoff=0.6)
                hint = (
                    f"did you mean `{close[0]}`?" if close else f"the queries are: {', '.join(sorted(names))}"
                )
                raise ExpressionError(f"`{node.id}` in the expression is not a query of this mapping; {hint}")
            used.add(node.id)
    return frozenset(used)


@functools.lru_cache(maxsize=512)
def _parse(text: str) -> ast.Expression:
    if len(text) > MAX_LENGTH:
        raise ExpressionError(
            f"the expression is {len(text)} characters long; at most {MAX_LENGTH} are accepted"
        )
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        column = f" at column {exc.offset}" if exc.offset else ""
        raise ExpressionError(f"`{text.strip()}` is not a valid expression: {exc.msg}{column}") from None
    for node in ast.walk(tree):
        problem = _refusal(node, text)
        if problem:
            raise ExpressionError(f"{problem}; an expression may use {_ALLOWED}")
    return tree


def _is_function(node: ast.Name, tree: ast.Expression) -> bool:
    return any(isinstance(call, ast.Call) and call.func is node for call in ast.walk(tree))


def _refusal(node: ast.AST, text: str) -> str | None:
    shown = ast.get_source_segment(text.strip(), node) or type(node).__name__
    if isinstance(
        node, ast.Expression | ast.Load | ast.Add | ast.Sub | ast.Mult | ast.Div | ast.USub | ast.UAdd
    ):
        return None
    if isinstance(node, ast.BinOp):
        name = _OPERATOR_NAMES.get(type(node.op))
        return f"`{name}` is not allowed" if name else None
    if isinstance(node, ast.UnaryOp):
        return None if isinstance(node.op, ast.USub | ast.UAdd) else f"`{shown}` is not allowed"
    if isinstance(node, ast.Constant):
        ok = isinstance(node.value, int | float) and not isinstance(node.value, bool)
        return None if ok else f"`{shown}` is not a number"
    if isinstance(node, ast.Name):
        return None
    if isinstance(node, ast.Call):
        return _call_refusal(node, shown)
    return f"`{shown}` is not allowed"


def _call_refusal(node: ast.Call, shown: str) -> str | None:
    if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
        return f"the call `{shown}` is not allowed (only {', '.join(f'{name}()' for name in FUNCTIONS)})"
    if node.keywords or any(isinstance(arg, ast.Starred) for arg in node.args):
        return f"`{shown}` takes plain arguments only"
    count = len(node.args)
    name = node.func.id
    if name in ("min", "max") and count < 2:
        return f"`{shown}` needs at least two arguments"
    if name == "abs" and count != 1:
        return f"`{shown}` takes one argument"
    if name == "round":
        if count not in (1, 2):
            return f"`{shown}` takes a value and optionally a number of digits"
        if count == 2 and not (isinstance(node.args[1], ast.Constant) and type(node.args[1].value) is int):
            return f"the digits of `{shown}` must be a whole number"
    return None


def evaluate_expression(text: str, values: Mapping[str, float | None]) -> float | None:
    """The value of a checked expression, or None (no data).

    Args:
        text: An expression that passed `check_expression`.
        values: The value of each query name; None means that query had no data.

    Returns:
        The result, or None if an input it uses has no data, it divides by zero, or the result is
        not a finite number.

    Raises:
        ExpressionError: The expression is not safe (it was never checked) or names an unknown value.
    """
    try:
        result = _eval(_parse(text).body, values)
    except _NoData:
        return None
    return result if math.isfinite(result) else None


def _eval(node: ast.expr, values: Mapping[str, float | None]) -> float:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return float(node.value)
    if isinstance(node, ast.Name):
        if node.id not in values:
            raise ExpressionError(f"the expression uses `{node.id}`, which has no value")
        value = values[node.id]
        if value is None:
            raise _NoData
        return float(value)
    if isinstance(node, ast.UnaryOp):
        operand = _eval(node.operand, values)
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.BinOp):
        return _binary(node, values)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return _call(node.func.id, [_eval(arg, values) for arg in node.args], node)
    raise ExpressionError(f"`{ast.dump(node)}` is not allowed")  # unreachable after _parse's checks


def _binary(node: ast.BinOp, values: Mapping[str, float | None]) -> float:
    left, right = _eval(node.left, values), _eval(node.right, values)
    if isinstance(node.op, ast.Add):
        result = left + right
    elif isinstance(node.op, ast.Sub):
        result = left - right
    elif isinstance(node.op, ast.Mult):
        result = left * right
    else:
        if right == 0:
            raise _NoData
        result = left / right
    if not math.isfinite(result):
        raise _NoData
    return result


def _call(name: str, args: list[float], node: ast.Call) -> float:
    if name == "min":
        return min(args)
    if name == "max":
        return max(args)
    if name == "abs":
        return abs(args[0])
    digits = node.args[1].value if len(node.args) == 2 and isinstance(node.args[1], ast.Constant) else 0
    return float(round(args[0], digits if isinstance(digits, int) else 0))
