"""The LALR actions of a statement, worked out once per sequence of terminals and replayed.

Between two statements the parser is always in the same state, so what it does with a statement
(which tokens it shifts, which rules it reduces, in which order) depends only on the statement's
terminals and on the token after it. :class:`Programs` keeps a trie of the sequences seen so far:
each node is a dict from a token's key (its terminal, or a keyword's spelling: the parser's state
decides what a word is) to the next node, and the key that ends a statement leads to a
:class:`Program`, the statement's reduces in order. A parse walks the trie with one dict lookup per
token and replays each statement's program, calling the same builders with the same children as
running the tables token by token would (:meth:`graphdsl.lang.driver.Driver.run`, which still
parses what the trie cannot: a statement the tables reject, so that the builders run exactly as far
as they did). A node is worked out from the tables the first time a sequence reaches it, from the
stack of states kept in the node. No TensorFlow here.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

# The trie holds at most this many nodes: a parse that would grow it further starts a new one
# (spec after spec of new shapes, in one long-lived process, keeps its memory bounded).
MAX_NODES = 200_000
# A program is compiled into a Python function when it has run this many times, if its statement
# has at most MAX_COMPILED tokens. Compiling one costs 0.5 to 1 ms and saves 1 to 15 us a run
# (graphdsl/lang/builder.py's work is the same either way): a shape that comes a hundred times is
# worth it, and a spec whose statements all differ never pays for it.
COMPILE_AFTER = 100
MAX_COMPILED = 400
# How many programs are tried by their keys for each first token, before walking the trie.
RECENT = 16
_STACK = 0  # the key, in a trie node, of the parser's state stack there (token keys are strings)


class Splice(list):  # type: ignore[type-arg]
    """The children of an inlined rule, on their way into their parent's."""


# run(texts, offsets, start, builders): the value of the statement whose tokens' texts and offsets
# start at texts[start] and offsets[start].
Run = Callable[[list[str], list[int], int, Mapping[str, Callable[[list[Any]], Any]]], Any]


class Program:
    """The reduces of one statement: ``(tokens shifted before, size, builder name or None for a
    spliced rule, whether a child may be a splice)``, and the terminal of each of its tokens (the
    parser's state decided what a keyword's spelling is)."""

    __slots__ = ("steps", "size", "kinds", "codes", "uses", "run", "interpreted")

    def __init__(self, steps: list[tuple[int, int, str | None, bool]], kinds: tuple[str, ...]) -> None:
        self.steps = steps
        self.size = len(kinds)
        self.kinds = kinds
        # The keys of the statement's tokens and of the token after it, a character each (see
        # graphdsl.lang.pieces.Pieces.codes): text with these keys there is this statement.
        self.codes = ""
        self.uses = 0
        # A program run COMPILE_AFTER times is compiled into Python (see compiled()); the method
        # replaced stays referenced, so that compiling frees nothing an earlier parse made.
        self.run: Run = self.replay
        self.interpreted: Run | None = None

    def replay(self, texts: list[str], offsets: list[int], start: int,
               builders: Mapping[str, Callable[[list[Any]], Any]]) -> Any:
        """The value of the statement whose tokens start at ``start``, step by step."""
        self.uses += 1
        if self.uses >= COMPILE_AFTER and self.interpreted is None and self.size <= MAX_COMPILED:
            self.interpreted, self.run = self.run, compiled(self)
        end = start + self.size
        tokens: list[Any] = list(zip(self.kinds, texts[start:end], offsets[start:end]))
        stack: list[Any] = []
        shifted = 0
        for shift, size, name, splices in self.steps:
            if shift:
                stack += tokens[shifted:shifted + shift]
                shifted += shift
            if name is None and type(stack[-size]) is Splice:
                # A left-recursive helper rule (x: x item): the splice grows in place.
                grown = stack[-size]
                for child in stack[1 - size:]:
                    if type(child) is Splice:
                        grown.extend(child)
                    else:
                        grown.append(child)
                del stack[1 - size:]
                continue
            children = stack[-size:]
            del stack[-size:]
            if name is None:
                stack.append(Splice(flat(children)))
            else:
                stack.append(builders[name](flat(children) if splices else children))
        return stack[0]


class Programs:
    """The trie of statements for one set of LALR tables (see the module's docstring).

    ``rows[state]``: terminal -> a shift (the next state, >= 0) or a reduce (~ the rule's index in
    ``rules``); ``gotos[state]``: rule -> next state; ``words[state]``: a keyword's spelling -> the
    terminal it reads as there; ``rules``: (size, name in the tables, builder name, whether it is
    built, whether a child may be a splice). ``first`` and ``between`` are the states before the
    first statement and between two statements.
    """

    def __init__(self, rows: Any, gotos: Any, words: Any, rules: list[tuple[int, str, str | None, bool, bool]],
                 first: Any, between: Any) -> None:
        self.rows, self.gotos, self.words, self.rules = rows, gotos, words, rules
        self.states = (first, between)
        self.clear()

    def clear(self) -> None:
        """Forget every sequence seen (the trie is kept to a bounded size: :data:`MAX_NODES`)."""
        self.first: dict[Any, Any] = {_STACK: (self.states[0],)}
        self.between: dict[Any, Any] = {_STACK: (self.states[1],)}
        self.nodes = 0
        # The programs of statements that follow another, by the code of their first token,
        # the latest first: most specs repeat a few shapes of statement.
        self.by_first: dict[str, list[Program]] = {}

    def remember(self, program: Program, codes: str) -> None:
        """Keep ``program`` (reached from :attr:`between` by the keys ``codes``) for :meth:`find`."""
        program.codes = codes
        known = self.by_first.setdefault(codes[0], [])
        known.insert(0, program)
        del known[RECENT:]

    def find(self, codes: str, i: int) -> Program | None:
        """A remembered program for the statement whose first token is the ``i``-th of ``codes``."""
        for program in self.by_first.get(codes[i], ()):
            if codes.startswith(program.codes, i):
                return program
        return None

    def extend(self, node: dict[Any, Any], key: str) -> Any:
        """The node (or the program, where the statement ends) after ``node`` for the token
        ``key``; None where the tables reject it (the caller then runs them token by token)."""
        states: list[Any] = list(node[_STACK])
        steps: list[Any] = list(node.get(1, ()))
        kinds: list[str] = list(node.get(2, ()))
        shift: int = node.get(4, 0)
        state = states[-1]
        kind = self.words[state].get(key, key)
        while True:
            action = self.rows[state].get(kind)
            if action is None:
                return None
            if action >= 0:
                states.append(action)
                kinds.append(kind)
                child: dict[Any, Any] = {_STACK: tuple(states), 1: tuple(steps), 2: tuple(kinds), 4: shift + 1}
                node[key] = child
                self.nodes += 1
                return child
            count, origin, name, built, splices = self.rules[~action]
            if count >= len(states) or count == 0:
                return None  # a reduce below the statement, or of nothing: left to the tables
            del states[-count:]
            state = self.gotos[states[-1]][origin]
            states.append(state)
            if count == 1 and not built:
                continue  # a rule of one child that stands for it: nothing to do with the values
            steps.append((shift, count, name if built else None, splices))
            shift = 0
            if len(states) == 2 and built:  # the statement, made right above the state between
                program = Program(steps, tuple(kinds))
                node[key] = program
                return program


def flat(children: list[Any]) -> list[Any]:
    """``children`` with each splice's children in its place."""
    out: list[Any] = []
    for child in children:
        if type(child) is Splice:
            out.extend(child)
        else:
            out.append(child)
    return out


def compiled(program: Program) -> Run:
    """``program.replay`` as one Python function without a loop: the stack of values is followed
    here, once, so the function only unpacks the tokens and calls the builders with their
    children. Its text is made of the grammar's names only (terminals, rules), never of a spec's."""
    size = program.size
    lines = [f"    {''.join(f'x{k}, ' for k in range(size))}= x[i:i + {size}]",
             f"    {''.join(f'o{k}, ' for k in range(size))}= o[i:i + {size}]"]
    # The tokens, as the builders take them: (terminal, text, offset).
    lines += [f"    t{k} = ({kind!r}, x{k}, o{k})" for k, kind in enumerate(program.kinds)]
    builders = sorted({name for _, _, name, _ in program.steps if name is not None})
    lines += [f"    b{j} = b[{name!r}]" for j, name in enumerate(builders)]
    # The stack: a value's name, or a list of names for a splice (its children, in order).
    stack: list[Any] = []
    shifted = made = 0
    for shift, size, name, splices in program.steps:
        stack += [f"t{k}" for k in range(shifted, shifted + shift)]
        shifted += shift
        if name is None and type(stack[-size]) is list:
            grown = stack[-size]
            for child in stack[1 - size:]:
                grown += child if type(child) is list else [child]
            del stack[1 - size:]
            continue
        children = stack[-size:]
        del stack[-size:]
        if name is None:
            stack.append([n for c in children for n in (c if type(c) is list else [c])])
            continue
        if splices:
            items = [n for c in children for n in (c if type(c) is list else [c])]
        else:
            items = [f"Splice([{', '.join(c)}])" if type(c) is list else c for c in children]
        made += 1
        lines.append(f"    v{made} = b{builders.index(name)}([{', '.join(items)}])")
        stack.append(f"v{made}")
    lines.append(f"    return {stack[0]}")
    namespace: dict[str, Any] = {"Splice": Splice}
    exec(compile("def run(x, o, i, b):\n" + "\n".join(lines) + "\n", "<statement program>", "exec"), namespace)
    return namespace["run"]  # type: ignore[no-any-return]
