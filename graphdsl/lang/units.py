"""Lists of literals taken by the fast parse as one token each (a unit).

A list such as ``[["s"], "s", ["s"]]`` is many tokens, and specs that hold lists of differing
shapes make as many shapes of statement: the trie of :mod:`graphdsl.lang.programs` then learns
and replays them token by token. Once a parse finds statements of ever new shapes
(:meth:`graphdsl.lang.driver.Driver.parse`), :meth:`Units.collapse` finds in each part of the text,
with one regular expression over the tokens' codes (:attr:`graphdsl.lang.pieces.Pieces.codes`),
each list whose items are strings, numbers or such lists (nested up to :data:`DEPTH` deep; which
ones: :class:`Units`), and replaces its tokens by one token of its own code. That token's text
says where its tokens are (and holds this :class:`Units`, which knows their codes). Statements
then differ by fewer shapes, and a list's tokens are looked at once, by the builder the builders
name :data:`UNIT` (a parse whose builders have none takes no units).

The parse loses nothing by it. A unit stands where the tables would read a ``[``: the trie reduces
what the ``[`` makes them reduce, and then goes where the tables go after the list rule
(:meth:`graphdsl.lang.programs.Programs.learn`); that is done from a state only once the tables
are found to read sample lists from it as one list rule, with no other rule around it
(:meth:`Units.reads_lists`). The grammar is unambiguous (its LALR tables have no conflict), so
any other list in a unit's place parses as the list rule there, as the sample did. The unit's
builder must make what the list rule's builder makes of each list, innermost first, from the
children the tables give it (``tests/test_parse_programs.py`` compares the trees with lark's). A
statement the trie does not take is parsed by the tables from its raw tokens. No TensorFlow here.
"""

from __future__ import annotations

import re
from typing import Any, Mapping, NamedTuple

# The key of a unit among the tokens' keys, and its builder's name among the rules'.
UNIT = "<list>"
# A unit holds lists nested this deep at most (a deeper list is parsed around its inner units).
DEPTH = 3
# A unit has at least this many items. It costs more than the trie's program for a short list,
# whose shapes are few: it pays where lists of many items vary in shape (nested or mixed lists,
# whose shapes multiply with their items).
MIN_ITEMS = 4


class ListRule(NamedTuple):
    """A grammar's list rule (see :class:`Units`): its name (the rule the tables go to after a
    list) and its builder's (an alias, or the same), the keys of its brackets and comma, those of
    the literals that are values, and of the tokens a list may follow."""

    rule: str
    builder: str
    open: str
    close: str
    comma: str
    items: tuple[str, ...]
    after: tuple[str, ...]


class Units:
    """Which lists of a grammar are taken as units, for one set of token codes.

    ``rule`` is the list rule (``rule: OPEN (value (COMMA value)* COMMA?)? CLOSE``, where each of
    ``items`` and the list rule itself is a value); a list is a unit only where the token before
    it is one of ``after`` (elsewhere an OPEN may mean something else, as a subscript after a name),
    if it has :data:`MIN_ITEMS` items or more, and if it holds a list or items of several kinds (a
    flat list of one kind has one shape per length: the trie learns them soon).
    """

    def __init__(self, codes: Mapping[str, str], rule: str, builder: str, open: str, close: str, comma: str,
                 items: tuple[str, ...], after: tuple[str, ...]) -> None:
        self.rule, self.builder, self.open, self.close, self.comma = rule, builder, open, close, comma
        self.opening = codes[open]
        self.code = chr(max(map(ord, codes.values())) + 1)
        # For the unit's builder: the code of each key, and the key of each code.
        self.codes = dict(codes)
        self.keys = {code: key for key, code in codes.items()}
        opening, closing, separator = (re.escape(codes[key]) for key in (open, close, comma))
        scalar = "[" + "".join(re.escape(codes[key]) for key in items) + "]"
        item = scalar
        for _ in range(DEPTH - 1):
            inner = f"{opening}(?:{item}(?:{separator}{item})*{separator}?)?{closing}"
            item = f"(?:{scalar}|{inner})"
        before = "".join(re.escape(codes[key]) for key in after)
        # The bracket first, then what stands before it: a pattern that starts with a character is
        # looked for by that character alone.
        self.regex = re.compile(f"{opening}(?<=[{before}]{opening}){item}(?:{separator}{item}){{{MIN_ITEMS - 1},}}"
                                f"{separator}?{closing}")
        # Samples of every form a unit takes, as token keys (see reads_lists).
        one = [open, items[0], close]
        self.samples = [[open, *sum(([i, comma] for i in items), []), close],
                        [open, items[-1], comma, items[0], close],
                        [open, *one, close], [open, *one, comma, close],
                        [open, open, close, comma, *one, comma, items[-1], close],
                        [open, items[0], comma, open, *one, comma, open, close, close, comma, close]]
        self.verified: dict[Any, bool] = {}

    def collapse(self, texts: list[Any], offsets: list[int], codes: str) -> tuple[list[Any], list[int], str] | None:
        """The tokens with each unit in place of its tokens (its text: this :class:`Units`, the
        token lists and where in them its tokens are); None where the tokens hold no unit."""
        opening = self.opening
        spans = []
        for match in self.regex.finditer(codes):
            start, end = match.span()
            if codes.find(opening, start + 1, end) < 0 and len(set(codes[start + 1:end - 1:2])) == 1:
                continue  # a flat list of one kind: its shapes are its lengths, few enough to learn
            spans.append((start, end))
        if not spans:
            return None
        unit = self.code
        kept_texts: list[Any] = []
        kept_offsets: list[int] = []
        kept_codes: list[str] = []
        after = 0
        for start, end in spans:
            kept_texts += texts[after:start]
            kept_texts.append((self, texts, offsets, codes, start, end))
            kept_offsets += offsets[after:start + 1]
            kept_codes += (codes[after:start], unit)
            after = end
        kept_texts += texts[after:]
        kept_offsets += offsets[after:]
        kept_codes.append(codes[after:])
        return kept_texts, kept_offsets, "".join(kept_codes)

    def reads_lists(self, state: Any, rows: Any, gotos: Any, words: Any, rules: list[Any]) -> bool:
        """Whether a unit may stand for a list in ``state``, where the tables shift an OPEN: each
        sample list, read from ``state``, is reduced by the list rule back to ``state`` and by no
        other rule that reaches below its tokens, whatever token follows it."""
        known = self.verified.get(state)
        if known is None:
            known = self.verified[state] = gotos[state].get(self.rule) is not None and all(
                _reads_one_list(sample, state, rows, gotos, words, rules, self.rule, self.builder)
                for sample in self.samples)
        return known


def _reads_one_list(keys: list[str], state: Any, rows: Any, gotos: Any, words: Any, rules: list[Any],
                    rule: str, builder: str) -> bool:
    """Whether the tables read ``keys`` from ``state`` (below it: nothing) as one ``rule``: each
    token shifted, each reduce above ``state`` until after the last token, which leaves a state
    whose every action reduces ``rule`` (the alternative that ``builder`` builds) back to
    ``state``."""
    stack = [state]
    for key in keys:
        while True:
            top = stack[-1]
            action = rows[top].get(words[top].get(key, key))
            if action is None:
                return False
            if action >= 0:
                stack.append(action)
                break
            count, origin = rules[~action][:2]
            if count >= len(stack) - 1 and len(stack) > 1 and count != 0:
                return False  # a reduce that takes the list's first token: not inside the list
            del stack[len(stack) - count:]
            target = gotos[stack[-1]].get(origin)
            if target is None:
                return False
            stack.append(target)
    actions = set(rows[stack[-1]].values())
    if len(actions) != 1:
        return False
    action = actions.pop()
    if action >= 0:
        return False
    count, origin, name = rules[~action][:3]
    return origin == rule and name == builder and count == len(stack) - 1

