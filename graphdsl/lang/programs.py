"""The LALR actions of a statement, worked out once per sequence of terminals and replayed.

Between two statements the parser is always in the same state, so what it does with a statement
(which tokens it shifts, which rules it reduces, in which order) depends only on the statement's
terminals and on the token after it. :class:`Programs` keeps a trie of the sequences seen so far:
each node is a dict from a token's key (its terminal, or a keyword's spelling: the parser's state
decides what a word is), by its one-character code (:attr:`graphdsl.lang.pieces.Pieces.codes`),
to the next node, and the key that ends a statement leads to a :class:`Program`, the builders'
calls of the statement in order. A parse walks the trie with one dict lookup per token and replays
each statement's program, calling the same builders with the same children as running the tables
token by token would (:meth:`graphdsl.lang.driver.Driver.run`, which still parses what the trie
cannot: a statement the tables reject, so that the builders run exactly as far as they did). A
node is worked out from the tables the first time a sequence reaches it, from the parser's stack
kept in the node. No TensorFlow here.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

from graphdsl.lang.units import UNIT, Units

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
# A builder's call in a program: the builder's name and where its children are, in order. The
# statement's values are its tokens (index k >= 0: the k-th token, as (terminal, text, offset))
# followed by what the calls return, each appended as it is made: a negative index counts back
# from the end of that list at the time of the call (-1: the value the call before made). A tuple
# of indexes is a spliced rule's children handed on as one Splice (only where a rule that does not
# take splices gets one, which the grammar may not allow at all).
Call = tuple[str, tuple[Any, ...]]


class Program:
    """The builders' calls of one statement (:data:`Call`), and the terminal of each of its
    tokens (the parser's state decided what a keyword's spelling is)."""

    __slots__ = ("calls", "size", "kinds", "plain", "codes", "uses", "run", "interpreted")

    def __init__(self, calls: list[Call], kinds: tuple[str, ...], plain: bool) -> None:
        self.calls = calls
        self.size = len(kinds)
        self.kinds = kinds
        self.plain = plain  # no call hands on a Splice
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
        """The value of the statement whose tokens start at ``start``, call by call."""
        self.uses += 1
        if self.uses >= COMPILE_AFTER and self.interpreted is None and self.size <= MAX_COMPILED:
            self.interpreted, self.run = self.run, compiled(self)
        end = start + self.size
        values: list[Any] = list(zip(self.kinds, texts[start:end], offsets[start:end]))
        get, append = values.__getitem__, values.append
        if self.plain:
            for name, where in self.calls:
                append(builders[name](list(map(get, where))))
        else:
            for name, where in self.calls:
                append(builders[name]([Splice(map(get, w)) if type(w) is tuple else get(w) for w in where]))
        return values[-1]


class Programs:
    """The trie of statements for one set of LALR tables (see the module's docstring).

    ``rows[state]``: terminal -> a shift (the next state, >= 0) or a reduce (~ the rule's index in
    ``rules``); ``gotos[state]``: rule -> next state; ``words[state]``: a keyword's spelling -> the
    terminal it reads as there; ``rules``: (size, name in the tables, builder name, whether it is
    built, whether a child may be a splice). ``first`` and ``between`` are the states before the
    first statement and between two statements.

    A node keeps, under the key ``_STACK``, where the parse is there: the stack of states and
    values as linked cells ``(state, value, cell below, depth)`` (a node shares the cells below
    with the node it grew from), and the terminals and calls of the statement so far as
    ``(kinds, len(kinds), calls, len(calls), no call hands on a splice)``: lists that the nodes of one learning run share,
    each node seeing its prefix. A value is a token's index in the statement (>= 0), ``~m`` for
    what the m-th call made, or a splice: ``(indexes, splice before)``, chunks linked so that a
    list of n items grows in n steps, not n * n.
    """

    def __init__(self, rows: Any, gotos: Any, words: Any, rules: list[tuple[int, str, str | None, bool, bool]],
                 first: Any, between: Any, names: Mapping[str, str], units: Units | None = None) -> None:
        self.rows, self.gotos, self.words, self.rules = rows, gotos, words, rules
        self.names = names  # a token's code (graphdsl.lang.pieces.Pieces.codes) -> its key
        self.units = units  # lists taken as one token (graphdsl.lang.units), if any
        self.states = (first, between)
        self.clear()

    def clear(self) -> None:
        """Forget every sequence seen (the trie is kept to a bounded size: :data:`MAX_NODES`)."""
        self.first: dict[Any, Any] = {_STACK: ((self.states[0], None, None, 1), [], 0, [], 0, True)}
        self.between: dict[Any, Any] = {_STACK: ((self.states[1], None, None, 1), [], 0, [], 0, True)}
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

    def learn(self, node: dict[Any, Any], codes: str, i: int) -> tuple[Program | None, int]:
        """Grow the trie from ``node``, which has no child for ``codes[i]``, along ``codes[i:]`` to
        the end of the statement: its program and the index of the token after the statement
        (whose code leads to the program); None (and where it stopped) where the tables reject
        a token, or the keys end, first (the caller then runs the tables token by token)."""
        top, kinds, shifted, calls, made, plain = node[_STACK]
        kinds, calls = kinds[:shifted], calls[:made]  # this run's own: it appends to them
        rows, gotos, words, rules, names, units = self.rows, self.gotos, self.words, self.rules, self.names, self.units
        size = len(codes)
        while i < size:
            code = codes[i]
            key = names[code]
            state = top[0]
            # A unit (a whole list) makes the tables reduce what its opening bracket would.
            kind = units.open if key == UNIT and units is not None else words[state].get(key, key)
            while True:
                action = rows[state].get(kind)
                if action is None:
                    return None, i
                if action >= 0:
                    break
                count, origin, name, built, splices = rules[~action]
                depth = top[3]
                if count >= depth or count == 0:
                    return None, i  # a reduce below the statement, or of nothing: left to the tables
                if count == 1:
                    below = top[2]
                    state = gotos[below[0]][origin]
                    if not built:  # a rule of one child that stands for it
                        top = (state, top[1], below, depth)
                        continue
                    children = [top[1]]
                else:
                    children = [top[1]]
                    below = top[2]
                    for _ in range(count - 1):
                        children.append(below[1])
                        below = below[2]
                    children.reverse()
                    state = gotos[below[0]][origin]
                depth = below[3] + 1
                spliced = tuple in map(type, children)  # a splice among the children
                if not built:  # spliced into its parent: a chunk more
                    first = children[0]
                    if type(first) is tuple:
                        rest = children[1:]
                        top = (state, (tuple(_flat(rest) if tuple in map(type, rest) else rest), first), below, depth)
                    else:
                        top = (state, (tuple(_flat(children) if spliced else children), None), below, depth)
                    continue
                # A builder's call: where its children are, counted back from this call's place.
                j = len(calls)
                if not spliced:
                    where = tuple([w if w >= 0 else ~w - j for w in children])
                elif splices:
                    where = tuple([w if w >= 0 else ~w - j for w in _flat(children)])
                else:  # a splice handed on whole
                    where = tuple([_here(w, j) for w in children])
                    plain = False
                calls.append((name, where))
                top = (state, ~j, below, depth)
                if depth == 2:  # the statement, made right above the state between
                    program = Program(calls, tuple(kinds), plain)
                    node[code] = program
                    return program, i
            if key != UNIT:
                top = (action, len(kinds), top, top[3] + 1)
                kinds.append(kind)
            elif units is not None and units.reads_lists(state, rows, gotos, words, rules):
                # The list, made by the unit's builder from the unit's token, where the tables go
                # after the list rule.
                calls.append((UNIT, (len(kinds),)))
                top = (gotos[state][units.rule], ~(len(calls) - 1), top, top[3] + 1)
                kinds.append(UNIT)
            else:
                return None, i
            child: dict[Any, Any] = {_STACK: (top, kinds, len(kinds), calls, len(calls), plain)}
            node[code] = child
            self.nodes += 1
            node = child
            i += 1
        return None, i


def flat(children: list[Any]) -> list[Any]:
    """``children`` with each splice's children in its place."""
    out: list[Any] = []
    for child in children:
        if type(child) is Splice:
            out.extend(child)
        else:
            out.append(child)
    return out


def _items(splice: tuple[tuple[int, ...], Any]) -> list[int]:
    """The values of a splice of a learning run, in order (its chunks are linked last first)."""
    chunks = []
    while splice is not None:
        chunks.append(splice[0])
        splice = splice[1]
    return [value for chunk in reversed(chunks) for value in chunk]


def _flat(children: list[Any]) -> list[int]:
    """``children`` of a learning run with each splice's values in its place (as :func:`flat`)."""
    out: list[int] = []
    for child in children:
        if type(child) is tuple:
            out += _items(child)
        else:
            out.append(child)
    return out


def _here(value: Any, call: int) -> Any:
    """Where ``value`` of a learning run is for the ``call``-th call (see :data:`Call`)."""
    if type(value) is tuple:
        return tuple([v if v >= 0 else ~v - call for v in _items(value)])
    return value if value >= 0 else ~value - call


def compiled(program: Program) -> Run:
    """``program.replay`` as one Python function without a loop: it only unpacks the tokens and
    calls the builders with their children. Its text is made of the grammar's names only
    (terminals, rules), never of a spec's."""
    size = program.size
    lines = [f"    {''.join(f'x{k}, ' for k in range(size))}= x[i:i + {size}]",
             f"    {''.join(f'o{k}, ' for k in range(size))}= o[i:i + {size}]"]
    # The tokens, as the builders take them: (terminal, text, offset).
    lines += [f"    t{k} = ({kind!r}, x{k}, o{k})" for k, kind in enumerate(program.kinds)]
    builders = sorted({name for name, _ in program.calls})
    lines += [f"    b{j} = b[{name!r}]" for j, name in enumerate(builders)]

    def value(where: int, call: int) -> str:
        return f"t{where}" if where >= 0 else f"v{call + where}"

    for call, (name, where) in enumerate(program.calls):
        items = [f"Splice([{', '.join(value(v, call) for v in w)}])" if type(w) is tuple else value(w, call)
                 for w in where]
        lines.append(f"    v{call} = b{builders.index(name)}([{', '.join(items)}])")
    lines.append(f"    return v{len(program.calls) - 1}")
    namespace: dict[str, Any] = {"Splice": Splice}
    exec(compile("def run(x, o, i, b):\n" + "\n".join(lines) + "\n", "<statement program>", "exec"), namespace)
    return namespace["run"]  # type: ignore[no-any-return]
