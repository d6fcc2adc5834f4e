"""`graphdsl fmt` on generated specs and templates: formatting keeps the tree and is stable, at any width.

A small generator writes random statements of the grammar (every statement, entry and value
form, nested lists and maps, keywords used as names where the grammar allows it), puts random
whitespace (spaces, tabs, form feeds, blank lines, none around punctuation) and comments between
any two tokens, and checks that the formatted text parses to the same tree, comments included,
and formats to itself. A second generator writes templates: parameters with types, defaults and
constraints, set, blocks and their uses, outputs, includes, for and if (else, else if) of
statements, copy entries and export entries, and expressions of every form (operators with their
operands parenthesized at random, so that the printer must find which parentheses the grammar
needs), strings with {...}.
"""

from __future__ import annotations

import os
import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graphdsl.errors import SourceFile
from graphdsl.lang import fmt, template_fmt
from graphdsl.lang.parser import parse
from graphdsl.lang.template_parser import parse_template

# A token: its text, and whether it is punctuation (so that no space is needed beside it).
Token = tuple[str, bool]

# Keywords the grammar reads as names where a name stands. Not everywhere: `variable`, `bind` and
# `signature` start body entries, `true` and `false` are always values, and a keyword that starts
# a statement is read as that keyword right after a value (so a map key or a body's setting key
# after a value is a plain name here, unless a comma comes between).
STATEMENT_KEYWORDS = ["graphdsl", "source", "copy", "let", "export"]
OTHER_NAMES = ["from", "take", "variables", "stop_at", "inputs", "outputs", "init", "value", "python"]

FIRST = string.ascii_letters + "_"
identifiers = st.builds(str.__add__, st.sampled_from(FIRST), st.text(FIRST + string.digits, max_size=7))
plain_names = st.one_of(
    identifiers.filter(lambda n: n not in {"true", "false", "variable", "bind", "signature", *STATEMENT_KEYWORDS}),
    st.sampled_from(OTHER_NAMES),
)
names = st.one_of(plain_names, st.sampled_from(STATEMENT_KEYWORDS))
# Characters of strings and comments: ASCII, a few others, and what a string must escape.
TEXT = string.ascii_letters + string.digits + string.punctuation.replace('"', "").replace("\\", "") + " \té€😀\u2028\x0b"
string_chars = st.one_of(st.sampled_from(TEXT), st.sampled_from(['\\"', "\\\\", "\\n", "\\t"]))
strings = st.lists(string_chars, max_size=12).map(lambda chars: '"' + "".join(chars) + '"')
digits = st.text(string.digits, min_size=1, max_size=6)
sign = st.sampled_from(["", "-"])
ints = st.builds(str.__add__, sign, digits)
exponents = st.one_of(st.just(""), st.builds(lambda e, s, d: e + s + d, st.sampled_from("eE"),
                                             st.sampled_from(["", "+", "-"]), st.text(string.digits, min_size=1, max_size=2)))
floats = st.one_of(
    st.builds(lambda s, a, b, e: f"{s}{a}.{b}{e}", sign, digits, st.one_of(st.just(""), digits), exponents),
    st.builds(lambda s, b, e: f"{s}.{b}{e}", sign, digits, exponents),
    st.builds(lambda s, a, e: f"{s}{a}{e}", sign, digits, exponents.filter(bool)),
)
comment_text = st.text(TEXT + '"\\#', max_size=20)
comments = st.tuples(comment_text, st.sampled_from(["", " ", "\t ", "\f"])).map(lambda t: "#" + t[0] + t[1])


def word(text: str) -> list[Token]:
    return [(text, False)]


def punct(text: str) -> list[Token]:
    return [(text, True)]


def scalars() -> st.SearchStrategy[list[Token]]:
    return st.one_of(strings.map(word), ints.map(word), floats.map(word),
                     st.sampled_from(["true", "false"]).map(word), names.map(word),
                     st.tuples(names, strings).map(lambda t: word(t[0]) + punct("[") + word(t[1]) + punct("]")))


def _list(items: list[list[Token]], trailing: bool) -> list[Token]:
    tokens = punct("[")
    for i, item in enumerate(items):
        tokens += item + (punct(",") if i < len(items) - 1 or trailing else [])
    return tokens + punct("]")


def _map(entries: list[tuple[str, list[Token], bool]]) -> list[Token]:
    tokens = punct("{")
    for i, (key, value, comma) in enumerate(entries):
        after = entries[i + 1][0] if i + 1 < len(entries) else ""
        comma = comma or after in STATEMENT_KEYWORDS  # else read as the keyword
        tokens += word(key) + punct(":") + value + (punct(",") if comma else [])
    return tokens + punct("}")


def _extend(inner: st.SearchStrategy[list[Token]]) -> st.SearchStrategy[list[Token]]:
    return st.one_of(
        st.builds(_list, st.lists(inner, max_size=5), st.booleans()),
        st.builds(_map, st.lists(st.tuples(st.one_of(names, strings), inner, st.booleans()), max_size=4)),
    )


values = st.recursive(scalars(), _extend, max_leaves=12)


def setting(key: st.SearchStrategy[str] = plain_names) -> st.SearchStrategy[list[Token]]:
    return st.builds(lambda k, v: word(k) + punct("=") + v, key, values)


def labelled(keyword: str) -> st.SearchStrategy[list[Token]]:
    return st.builds(lambda s, v: word(keyword) + word(s) + punct("=") + v, strings, values)


def _body(entries: list[list[Token]]) -> list[Token]:
    return punct("{") + [t for entry in entries for t in entry] + punct("}")


def _source(name: str, kind: str, path: str, options: list[list[Token]], trailing: bool) -> list[Token]:
    tokens = word("source") + word(name) + punct("=") + word(kind) + punct("(") + word(path)
    for option in options:
        tokens += punct(",") + option
    return tokens + (punct(",") if trailing else []) + punct(")")


signature = st.builds(lambda label, entries: word("signature") + word(label) + _body(entries),
                      st.one_of(names, strings), st.lists(setting(), max_size=3))
statement = st.one_of(
    ints.map(lambda n: word("graphdsl") + word(n)),
    st.builds(_source, names, names, strings, st.lists(setting(names), max_size=4), st.booleans()),
    st.builds(lambda ns, src, entries: word("copy") + word(ns) + word("from") + word(src) + _body(entries),
              names, names, st.lists(st.one_of(setting(), labelled("variable"), labelled("bind")), max_size=5)),
    st.builds(lambda name, value: word("let") + word(name) + punct("=") + value, names, values),
    st.builds(lambda kind, path, body: word("export") + word(kind) + word(path) + (_body(body) if body is not None else []),
              names, strings, st.none() | st.lists(st.one_of(setting(), signature), max_size=4)),
)
BLANKS = [" ", " ", " ", "\n", "\n    ", "\t", "  ", "\n\n", "\n\n\n", "\f", " \n \n"]


@st.composite
def specs(draw: st.DrawFn, statement: st.SearchStrategy[list[Token]] = statement, most: int = 6) -> str:
    """Statements with whitespace and comments between their tokens (chosen by a drawn random
    generator: one draw per token made the generator slower than everything it tests)."""
    statements = draw(st.lists(statement, max_size=most))
    pool = draw(st.lists(comments, min_size=1, max_size=4))
    rng = draw(st.randoms(use_true_random=False))

    def gap(punctuation: bool) -> str:
        roll = rng.random()
        if punctuation and roll < 0.15:
            return ""
        if roll < 0.8:
            return rng.choice(BLANKS)
        if roll < 0.95:
            return " " + rng.choice(pool) + "\n"
        return "\n" + rng.choice(pool) + "\n\n" + rng.choice(pool) + "\n"

    tokens = [t for s in statements for t in s]
    parts = [gap(False)] if rng.random() < 0.3 else []
    for i, (text, is_punct) in enumerate(tokens):
        if i:
            parts.append(gap(is_punct or tokens[i - 1][1]))
        parts.append(text)
    if rng.random() < 0.5:
        parts.append(gap(False))
    return "".join(parts)


# The suite runs a fixed set of examples (derandomized, so a run is repeatable); set
# GRAPHDSL_FMT_EXAMPLES=5000 to search further, with new examples each run.
EXAMPLES = int(os.environ.get("GRAPHDSL_FMT_EXAMPLES", "0"))


@settings(max_examples=EXAMPLES or 150, deadline=None, derandomize=not EXAMPLES, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(text=specs(), width=st.integers(1, 120))
def test_formatting_a_generated_spec_keeps_its_tree_and_is_stable(text: str, width: int) -> None:
    spec = parse(text)
    formatted = fmt.format_spec(spec, width)
    assert fmt.meaning(parse(formatted)) == fmt.meaning(spec)
    assert fmt.format_spec(parse(formatted), width) == formatted


# -- templates ---------------------------------------------------------------------------------

TEMPLATE_KEYWORDS = {"param", "check", "set", "block", "use", "output", "include", "for", "in", "if", "else",
                     "and", "or", "not", "true", "false", *STATEMENT_KEYWORDS, "from", "variable", "bind",
                     "signature"}
idents = identifiers.filter(lambda n: n not in TEMPLATE_KEYWORDS)
# Characters of a template's strings: no brace alone (it would open an expression).
T_TEXT = TEXT.replace("{", "").replace("}", "")
t_chars = st.one_of(st.sampled_from(T_TEXT), st.sampled_from(['\\"', "\\\\", "\\n", "{{", "}}"]))


def _unsigned(text: str) -> str:
    return text.lstrip("-")


def _atoms(inside_string: bool) -> st.SearchStrategy[list[Token]]:
    numbers = st.one_of(ints.map(_unsigned), floats.map(_unsigned))
    atoms = [numbers.map(word), idents.map(word), st.sampled_from(["true", "false"]).map(word)]
    if not inside_string:  # {...} holds no string
        atoms.append(interpolated())
    return st.one_of(*atoms)


def interpolated() -> st.SearchStrategy[list[Token]]:
    parts = st.lists(st.one_of(st.lists(t_chars, max_size=4).map("".join),
                               expressions(inside_string=True, leaves=3).map(
                                   lambda tokens: "{ " + " ".join(text for text, _ in tokens) + " }")),  # `{{` is a brace
                     max_size=3)
    return parts.map(lambda items: word('"' + "".join(items) + '"'))


def _parens(tokens: list[Token]) -> list[Token]:
    return punct("(") + tokens + punct(")")


BINARY = ["or", "and", "==", "!=", "<", "<=", ">", ">=", "in", "+", "-", "*", "/", "//", "%"]


def _compound(inner: st.SearchStrategy[list[Token]]) -> st.SearchStrategy[list[Token]]:
    """Operators with each operand in parentheses (which the tree forgets), and the other forms."""
    def op(text: str) -> list[Token]:
        return word(text) if text.isalpha() else punct(text)

    wrapped = st.tuples(inner, st.booleans()).map(lambda t: _parens(t[0]) if t[1] or len(t[0]) > 1 else t[0])
    names_ = st.lists(idents, min_size=1, max_size=2, unique=True).map(
        lambda ns: [t for i, n in enumerate(ns) for t in (punct(",") if i else []) + word(n)])
    binary = st.builds(lambda a, o, b: a + op(o) + b, wrapped, st.sampled_from(BINARY), wrapped)
    return st.one_of(
        binary, binary, binary,  # the form with the most to get right, drawn most
        st.builds(lambda a: word("not") + a, wrapped),
        st.builds(lambda a: punct("-") + _parens(a), inner),  # `-1` would be the literal
        st.builds(lambda c, a, b: c + punct("?") + a + punct(":") + b, wrapped, wrapped, wrapped),
        st.builds(lambda a, i: _parens(a) + punct("[") + i + punct("]"), inner, inner),
        st.builds(lambda a, n: _parens(a) + punct(".") + word(n), inner, idents),
        st.builds(lambda f, args: word(f) + punct("(") + [t for i, a in enumerate(args)
                                                           for t in (punct(",") if i else []) + a] + punct(")"),
                  idents, st.lists(inner, max_size=3)),
        st.builds(lambda items, trailing: _list(items, trailing), st.lists(inner, max_size=4), st.booleans()),
        st.builds(lambda entries: punct("{") + [t for k, v in entries for t in word(k) + punct(":") + v + punct(",")]
                  + punct("}"), st.lists(st.tuples(idents, inner), max_size=3)),
        st.builds(lambda ns, it, item: punct("[") + word("for") + ns + word("in") + it + punct(":") + item + punct("]"),
                  names_, wrapped, inner),
        st.builds(lambda ns, it, k, v: punct("{") + word("for") + ns + word("in") + it + punct(":") + k + punct("=>")
                  + v + punct("}"), names_, wrapped, wrapped, inner),
    )


def expressions(inside_string: bool = False, leaves: int = 8) -> st.SearchStrategy[list[Token]]:
    return st.recursive(_atoms(inside_string), _compound, max_leaves=leaves)


def t_setting(key: st.SearchStrategy[str] = idents) -> st.SearchStrategy[list[Token]]:
    return st.builds(lambda k, v: word(k) + punct("=") + v, key, expressions())


t_names = st.one_of(idents.map(word), interpolated())
types = st.recursive(st.sampled_from(["int", "float", "bool", "string", "ref"]).map(word),
                     lambda inner: st.builds(lambda k, i: word(k) + punct("[") + i + punct("]"),
                                             st.sampled_from(["list", "map"]), inner), max_leaves=2)


def _commas(items: list[list[Token]], trailing: bool) -> list[Token]:
    tokens = [t for i, item in enumerate(items) for t in (punct(",") if i else []) + item]
    return tokens + (punct(",") if trailing and items else [])


def _control(body: st.SearchStrategy[list[Token]]) -> st.SearchStrategy[list[Token]]:
    """for and if (else, else if) around entries drawn from ``body``."""
    braced = st.lists(body, max_size=3).map(_body)
    names_ = st.lists(idents, min_size=1, max_size=2, unique=True).map(lambda ns: _commas([word(n) for n in ns], False))
    else_: st.SearchStrategy[list[Token]] = st.one_of(st.just([]), braced.map(lambda b: word("else") + b),
                      st.builds(lambda c, b: word("else") + word("if") + c + b, expressions(), braced))
    return st.one_of(
        st.builds(lambda ns, it, b: word("for") + ns + word("in") + it + b, names_, expressions(), braced),
        st.builds(lambda c, b, e: word("if") + c + b + e, expressions(), braced, else_),
    )


copy_entry: st.SearchStrategy[list[Token]] = st.deferred(
    lambda: st.one_of(t_setting(), labelled_t("variable"), labelled_t("bind"), _control(copy_entry)))
t_signature = st.builds(lambda label, entries: word("signature") + label + _body(entries), t_names,
                        st.lists(t_setting(), max_size=2))
export_entry: st.SearchStrategy[list[Token]] = st.deferred(
    lambda: st.one_of(t_setting(), t_signature, _control(export_entry)))


def labelled_t(keyword: str) -> st.SearchStrategy[list[Token]]:
    return st.builds(lambda s, v: word(keyword) + s + punct("=") + v, interpolated(), expressions())


param_entry = st.one_of(t_setting(st.sampled_from(["min", "max", "one_of"])),
                        st.builds(lambda c, m: word("check") + c + punct(",") + m, expressions(), expressions()))
block_param = st.builds(lambda n, t, d: word(n) + ((punct(":") + t) if t else []) + ((punct("=") + d) if d else []),
                        idents, st.none() | types, st.none() | expressions())
template_statement: st.SearchStrategy[list[Token]] = st.deferred(lambda: st.one_of(
    ints.map(lambda n: word("graphdsl") + word(n)),
    interpolated().map(lambda p: word("include") + p),
    st.builds(lambda n, t, d, body: word("param") + word(n) + punct(":") + t + ((punct("=") + d) if d else [])
              + (_body(body) if body is not None else []),
              idents, types, st.none() | expressions(), st.none() | st.lists(param_entry, max_size=3)),
    st.builds(lambda n, v: word("set") + word(n) + punct("=") + v, idents, expressions()),
    st.builds(lambda n, v: word("output") + word(n) + punct("=") + v, idents, expressions()),
    st.builds(lambda n, v: word("let") + n + punct("=") + v, t_names, expressions()),
    st.builds(lambda n, b, args, trailing: word("use") + n + punct("=") + word(b) + punct("(") + _commas(args, trailing)
              + punct(")"), t_names, idents, st.lists(t_setting(), max_size=3), st.booleans()),
    st.builds(lambda n, params, trailing, body: word("block") + word(n) + punct("(") + _commas(params, trailing)
              + punct(")") + _body(body), idents, st.lists(block_param, max_size=3), st.booleans(),
              st.lists(template_statement, max_size=3)),
    st.builds(lambda n, kind, path, options: word("source") + n + punct("=") + word(kind) + punct("(") + path
              + [t for o in options for t in punct(",") + o] + punct(")"),
              t_names, idents, interpolated(), st.lists(t_setting(), max_size=2)),
    st.builds(lambda ns, src, entries: word("copy") + ns + word("from") + src + _body(entries),
              t_names, t_names, st.lists(copy_entry, max_size=3)),
    st.builds(lambda kind, path, body: word("export") + word(kind) + path + (_body(body) if body is not None else []),
              idents, interpolated(), st.none() | st.lists(export_entry, max_size=3)),
    _control(template_statement),
))


@settings(max_examples=EXAMPLES or 150, deadline=None, derandomize=not EXAMPLES, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(text=specs(template_statement.map(lambda s: s), most=5), width=st.integers(1, 120))
def test_formatting_a_generated_template_keeps_its_tree_and_is_stable(text: str, width: int) -> None:
    template = parse_template(SourceFile("<generated>", text))
    formatted = template_fmt.format_template(template, width)
    again = parse_template(SourceFile("<generated>", formatted))
    assert template_fmt.meaning(again) == template_fmt.meaning(template)
    assert template_fmt.format_template(again, width) == formatted


# Expressions alone, larger: the printer's parentheses meet every pair of operators.
expression_statements = st.builds(lambda n, v: word("set") + word(n) + punct("=") + v, idents,
                                  st.recursive(_atoms(False), _compound, max_leaves=16))


@settings(max_examples=EXAMPLES or 300, deadline=None, derandomize=not EXAMPLES, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(text=specs(expression_statements, most=3), width=st.integers(1, 120))
def test_formatting_generated_expressions_keeps_their_tree(text: str, width: int) -> None:
    template = parse_template(SourceFile("<generated>", "set _ = 0\n" + text))
    formatted = template_fmt.format_template(template, width)
    again = parse_template(SourceFile("<generated>", formatted))
    assert template_fmt.meaning(again) == template_fmt.meaning(template)
    assert template_fmt.format_template(again, width) == formatted
