from __future__ import annotations

import pickle

import pytest

from mappings.errors import ExpressionError
from mappings.expressions import check_expression, evaluate_expression

NAMES = {"won", "lost", "all"}


@pytest.mark.parametrize(
    ("text", "values", "expected"),
    [
        ("won / all * 100", {"won": 3.0, "all": 12.0}, 25.0),
        ("won + lost", {"won": 3.0, "lost": 4.5}, 7.5),
        ("-(won - lost)", {"won": 3.0, "lost": 5.0}, 2.0),
        ("+won", {"won": 3.0}, 3.0),
        ("min(won, lost, 10)", {"won": 3.0, "lost": 5.0}, 3.0),
        ("max(won, lost)", {"won": 3.0, "lost": 5.0}, 5.0),
        ("round(won / all * 100, 1)", {"won": 1.0, "all": 3.0}, 33.3),
        ("round(won / all)", {"won": 2.0, "all": 3.0}, 1.0),
        ("abs(won - lost)", {"won": 3.0, "lost": 5.0}, 2.0),
        ("1e3 * won", {"won": 2.0}, 2000.0),
    ],
)
def test_allowed_expressions_evaluate(text, values, expected):
    check_expression(text, names=NAMES)

    assert evaluate_expression(text, values) == pytest.approx(expected)


def test_check_returns_the_names_used():
    assert check_expression("won / (won + lost)", names=NAMES) == {"won", "lost"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("won ** 2", "`**` is not allowed"),
        ("won // all", "`//` is not allowed"),
        ("won % all", "`%` is not allowed"),
        ("won.real", "`won.real` is not allowed"),
        ("won[0]", "`won[0]` is not allowed"),
        ("won if all else lost", "is not allowed"),
        ("won > all", "is not allowed"),
        ("not won", "is not allowed"),
        ("lambda: 1", "is not allowed"),
        ("[won, all]", "is not allowed"),
        ("'text'", "`'text'` is not a number"),
        ("True + won", "`True` is not a number"),
        ("open('x')", "the call `open('x')` is not allowed"),
        ("__import__('os').system('id')", "is not allowed"),
        ("min(won)", "needs at least two arguments"),
        ("abs(won, all)", "takes one argument"),
        ("round(won, all)", "must be a whole number"),
        ("round(won, ndigits=2)", "plain arguments only"),
        ("max(*won)", "plain arguments only"),
        ("won / ", "is not a valid expression"),
        ("won = 1", "is not a valid expression"),
        ("won\nall", "is not a valid expression"),
        ("wom / all", "`wom` in the expression is not a query of this mapping; did you mean `won`?"),
        ("min + won", "`min` in the expression is not a query"),
        ("won + " * 200 + "won", "at most 500 are accepted"),
    ],
)
def test_refused_expressions_say_why(text, message):
    with pytest.raises(ExpressionError) as caught:
        check_expression(text, names=NAMES)

    assert message in caught.value.message


def test_division_by_zero_is_no_data():
    assert evaluate_expression("won / all * 100", {"won": 3.0, "all": 0.0}) is None
    assert evaluate_expression("won / (all - all)", {"won": 3.0, "all": 2.0}) is None


def test_an_input_without_data_is_no_data():
    assert evaluate_expression("won / all", {"won": None, "all": 4.0}) is None


def test_an_overflowing_result_is_no_data():
    assert evaluate_expression("won * won", {"won": 1e200}) is None


def test_evaluating_an_unchecked_unsafe_expression_still_refuses():
    with pytest.raises(ExpressionError):
        evaluate_expression("__import__('os')", {})


def test_expression_errors_pickle():
    error = ExpressionError("`**` is not allowed")

    assert pickle.loads(pickle.dumps(error)).message == "`**` is not allowed"
