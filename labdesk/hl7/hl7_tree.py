"""python-hl7's parser with less work per node: lean containers and child plans made once.

python-hl7 turns a message into a tree of containers (segments, fields, repetitions,
components). For the short messages a lab sends, most of its time goes to bookkeeping
around each node rather than to splitting text: every container's constructor checks its
arguments, and the parser builds a new parse plan for every child it splits (about ninety
per ORU^R01). That was a third of the HL7 ingest's time. :func:`parse_tree` returns the very
tree ``hl7.parse`` returns (``hl7`` container subclasses, equal element by element, same
``str()``) with two hooks:

* :class:`LeanFactory`: an ``hl7.Factory`` subclass, python-hl7's documented way to choose
  the container classes, whose containers set their attributes without the checks;
* :class:`_ReusedPlan`: the parse plan with each level's child plan built once per message.
  It subclasses python-hl7's internal ``_ParsePlan`` and calls its internal ``_split``
  (what ``hl7.parse`` itself calls). A python-hl7 without them makes :func:`parse_tree` fall
  back to ``hl7.parse``; ``tests/unit/test_hl7_tree.py`` checks that both trees are equal.
"""

from __future__ import annotations

from typing import Any

import hl7

try:
    from hl7.parser import _ParsePlan, _split, create_parse_plan
except ImportError:  # pragma: no cover - a python-hl7 whose internals moved
    _ParsePlan = None


def _lean(base: Any, level: int) -> Any:
    """``base`` (an ``hl7`` container class) with a constructor that skips the checks."""

    def __init__(  # noqa: N807 - the constructor of the class built below
        self: Any,
        separator: str | None = None,
        sequence: Any = (),
        esc: str = "\\",
        separators: str = "\r|~^&",
        factory: Any = None,
    ) -> None:
        list.__init__(self, sequence)
        self.separator = separators[level]
        self.esc = esc
        self.separators = separators
        self.factory = factory if factory is not None else LeanFactory

    return type(base.__name__, (base,), {"__init__": __init__, "__module__": __name__})


class LeanFactory(hl7.Factory):  # type: ignore[misc]  # python-hl7 is untyped
    """python-hl7's containers, built without re-checking the parser's own arguments."""

    create_message = _lean(hl7.Message, 0)
    create_segment = _lean(hl7.Segment, 1)
    create_field = _lean(hl7.Field, 2)
    create_repetition = _lean(hl7.Repetition, 3)
    create_component = _lean(hl7.Component, 4)


if _ParsePlan is not None:

    class _ReusedPlan(_ParsePlan):  # type: ignore[misc]  # python-hl7 is untyped
        """A parse plan that builds its child plan (the next level down) only once.

        ``applies`` and ``container`` do what python-hl7's do, with what they look up on
        every call (the separators from this level down, the container class) kept.
        """

        def __init__(self, *args: Any) -> None:
            super().__init__(*args)
            self._child: Any = self
            self._below = self.separators[self.separators.find(self.separator) :]
            self._make = self.containers[0]

        def next(self) -> Any:
            """The plan of the level below (None below components), made once."""
            if self._child is self:
                self._child = super().next()
            return self._child

        def applies(self, text: str) -> bool:
            """True when ``text`` holds this level's separator or one of a lower level."""
            for separator in self._below:  # noqa: SIM110 - any() and a generator cost more here
                if separator in text:
                    return True
            return False

        def container(self, data: list[Any]) -> Any:
            """This level's container holding ``data``."""
            return self._make(None, data, self.esc, self.separators, self.factory)


def parse_tree(text: str) -> Any:
    """``hl7.parse(text)``, built faster (see module docstring).

    Raises:
        Exception: whatever ``hl7.parse`` raises for ``text``.
    """
    if _ParsePlan is None:  # pragma: no cover
        return hl7.parse(text, factory=LeanFactory)
    body = text.strip()
    plan = create_parse_plan(body, LeanFactory)
    reused = _ReusedPlan(plan.separator, plan.separators, plan.containers, plan.esc, LeanFactory)
    return _split(body, reused)
