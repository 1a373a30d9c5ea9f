"""Go text/template tokens to a parse tree, with Go's checks: variables declared before use
(scoped to their control structure), `break` and `continue` only in `range`, `define` only at
the top level, functions that exist. Pure."""

from __future__ import annotations

import ast
from collections.abc import Collection

from alertrouter.gotemplate.errors import GoTemplateError
from alertrouter.gotemplate.lexer import Kind, Token, tokenize
from alertrouter.gotemplate.nodes import (
    Action,
    Break,
    Chain,
    Command,
    Continue,
    Define,
    Dot,
    Field,
    Function,
    If,
    Literal,
    Node,
    Operand,
    Parsed,
    Pipe,
    Range,
    Template,
    Text,
    Variable,
    With,
)

_CONTROL = {"if": If, "with": With, "range": Range}


def parse(source: str, *, name: str, functions: Collection[str]) -> Parsed:
    """Parses a template file or field; `functions` are the names a template may call."""
    return _Parser(tokenize(source, name=name), name, source, functions).top()


class _Parser:
    def __init__(
        self, tokens: list[Token], name: str, source: str, functions: Collection[str]
    ) -> None:
        self.tokens = tokens
        self.i = 0
        self.name = name
        self.source = source
        self.functions = functions
        self.vars: list[str] = ["$"]
        self.range_depth = 0
        self.defines: dict[str, Define] = {}

    # tokens

    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def next(self) -> Token:
        token = self.peek()
        self.i += 1
        return token

    def expect(self, kind: Kind, context: str) -> Token:
        token = self.next()
        if token.kind is not kind:
            raise self.error(token, f"unexpected {_show(token)} in {context}")
        return token

    def error(self, token: Token, message: str) -> GoTemplateError:
        return GoTemplateError(self.name, token.line, message)

    # structure

    def top(self) -> Parsed:
        body: list[Node] = []
        while self.peek().kind is not Kind.EOF:
            if self.peek().kind is Kind.LEFT and self.peek(1).value == "define":
                self.add(self.define())
                continue
            node, stop = self.item()
            if stop is not None:
                raise self.error(stop, f"unexpected {{{{{stop.value}}}}}")
            body.append(node)
        return Parsed(tuple(body), self.defines)

    def add(self, define: Define) -> None:
        """As Go's parser: a template defined twice in one source is an error unless one of
        the definitions is empty (white space only), which the other replaces."""
        earlier = self.defines.get(define.name)
        if earlier is None or _empty(earlier.body):
            self.defines[define.name] = define
        elif not _empty(define.body):
            raise GoTemplateError(
                self.name, define.line, f'template: multiple definition of template "{define.name}"'
            )

    def define(self) -> Define:
        start = self.next()
        self.next()  # define
        name = self.string_constant("define clause")
        self.expect(Kind.RIGHT, "define clause")
        saved, self.vars = self.vars, ["$"]
        body, stop = self.items()
        self.vars = saved
        if stop.value != "end":
            raise self.error(stop, f"unexpected {{{{{stop.value}}}}} in define clause")
        return Define(name, body, self.name, start.line)

    def items(self) -> tuple[tuple[Node, ...], Token]:
        """Nodes up to `{{end}}` or `{{else}}` (whose keyword token is returned, consumed)."""
        body: list[Node] = []
        while True:
            if self.peek().kind is Kind.EOF:
                raise self.error(self.peek(), "unexpected EOF")
            if self.peek().kind is Kind.LEFT and self.peek(1).value == "define":
                raise self.error(self.peek(), "define clause inside a control structure")
            node, stop = self.item()
            if stop is not None:
                return tuple(body), stop
            body.append(node)

    def item(self) -> tuple[Node, Token | None]:
        token = self.next()
        if token.kind is Kind.TEXT:
            return Text(token.value), None
        if token.kind is not Kind.LEFT:
            raise self.error(token, f"unexpected {_show(token)}")
        word = self.peek()
        if word.kind is Kind.KEYWORD and word.value in ("end", "else"):
            self.next()
            if word.value == "end":
                self.expect(Kind.RIGHT, "end")
            return Text(""), word
        if word.kind is Kind.KEYWORD and word.value in _CONTROL:
            self.next()
            return self.control(word), None
        if word.kind is Kind.KEYWORD and word.value in ("template", "block"):
            self.next()
            return self.template(word), None
        if word.kind is Kind.KEYWORD and word.value in ("break", "continue"):
            self.next()
            if self.range_depth == 0:
                raise self.error(word, f"{{{{{word.value}}}}} outside {{{{range}}}}")
            self.expect(Kind.RIGHT, word.value)
            return (Break() if word.value == "break" else Continue()), None
        return Action(self.pipeline("command", Kind.RIGHT)), None

    def control(self, keyword: Token) -> Node:
        mark = len(self.vars)
        context = keyword.value
        pipe = self.pipeline(context, Kind.RIGHT, allow_two=context == "range")
        if context == "range":
            self.range_depth += 1
        body, stop = self.items()
        if context == "range":
            self.range_depth -= 1
        otherwise: tuple[Node, ...] = ()
        if stop.value == "else":
            if context == "if" and self.peek().kind is Kind.KEYWORD and self.peek().value == "if":
                # `{{else if ...}}`: an if inside the else branch, closed by the same `{{end}}`
                otherwise = (self.control(self.next()),)
            else:
                self.expect(Kind.RIGHT, "else")
                otherwise, stop = self.items()
                if stop.value != "end":
                    raise self.error(stop, f"expected end; found {{{{{stop.value}}}}}")
        del self.vars[mark:]
        return _CONTROL[context](pipe, body, otherwise)

    def template(self, keyword: Token) -> Node:
        name = self.string_constant(f"{keyword.value} clause")
        pipe = None
        if self.peek().kind is not Kind.RIGHT:
            pipe = self.pipeline(f"{keyword.value} clause", Kind.RIGHT)
        else:
            self.next()
        if keyword.value == "block":
            # `{{block "n" p}}T{{end}}`: defines n as T and executes it with p.
            saved, self.vars = self.vars, ["$"]
            saved_depth, self.range_depth = self.range_depth, 0
            body, stop = self.items()
            self.vars, self.range_depth = saved, saved_depth
            if stop.value != "end":
                raise self.error(stop, f"unexpected {{{{{stop.value}}}}} in block clause")
            self.add(Define(name, body, self.name, keyword.line))
        return Template(name, pipe, keyword.line)

    def string_constant(self, context: str) -> str:
        token = self.next()
        if token.kind not in (Kind.STRING, Kind.RAW_STRING):
            raise self.error(token, f"unexpected {_show(token)} in {context}")
        return _unquote(token, self)

    # pipelines

    def pipeline(self, context: str, end: Kind, *, allow_two: bool = False) -> Pipe:
        line = self.peek().line
        declare: list[str] = []
        assign = False
        if self.peek().kind is Kind.VARIABLE:
            after = self.peek(1).kind
            if after in (Kind.DECLARE, Kind.ASSIGN):
                declare.append(self.next().value)
                assign = self.next().kind is Kind.ASSIGN
            elif after is Kind.COMMA and allow_two and self.peek(2).kind is Kind.VARIABLE:
                declare.append(self.next().value)
                self.next()
                declare.append(self.next().value)
                op = self.next()
                if op.kind not in (Kind.DECLARE, Kind.ASSIGN):
                    raise self.error(op, f"missing := in {context}")
                assign = op.kind is Kind.ASSIGN
        for variable in declare:
            if assign:
                self.check_variable(variable, line)
        commands: list[Command] = []
        while True:
            token = self.peek()
            if token.kind is end:
                self.next()
                break
            if token.kind is Kind.EOF:
                raise self.error(token, f"unclosed action in {context}")
            commands.append(self.command(end))
            if self.peek().kind is Kind.PIPE:
                self.next()
                if self.peek().kind is end:
                    raise self.error(self.peek(), f"missing command after | in {context}")
        if not commands:
            raise self.error(self.peek(-1), f"missing value for {context}")
        for index, command in enumerate(commands[1:], 1):
            first = command.args[0]
            if isinstance(first, Literal | Dot):
                raise self.error(
                    self.peek(-1), f"non executable command in pipeline stage {index + 1}"
                )
        if not assign:
            self.vars.extend(declare)
        return Pipe(tuple(commands), line, tuple(declare), assign)

    def command(self, end: Kind) -> Command:
        line = self.peek().line
        args: list[Operand] = []
        while self.peek().kind not in (end, Kind.PIPE, Kind.EOF, Kind.RPAREN, Kind.RIGHT):
            args.append(self.operand())
        if not args:
            raise self.error(self.peek(), f"unexpected {_show(self.peek())} in operand")
        return Command(tuple(args), line)

    def operand(self) -> Operand:
        node = self.term()
        names: list[str] = []
        while self.peek().kind is Kind.FIELD and not self.peek().spaced:
            names.append(self.next().value[1:])
        if not names:
            return node
        if isinstance(node, Field):
            return Field(node.names + tuple(names))
        if isinstance(node, Variable):
            return Variable(node.name, node.names + tuple(names))
        if isinstance(node, Pipe):
            return Chain(node, tuple(names))
        raise self.error(self.peek(-1), "unexpected . after term")

    def term(self) -> Operand:
        token = self.next()
        kind = token.kind
        if kind is Kind.IDENTIFIER:
            if token.value == "call":
                raise self.error(token, "call is not supported (the data has no function values)")
            if token.value not in self.functions:
                raise self.error(token, f'function "{token.value}" not defined')
            return Function(token.value)
        if kind is Kind.DOT:
            return Dot()
        if kind is Kind.FIELD:
            return Field((token.value[1:],))
        if kind is Kind.VARIABLE:
            self.check_variable(token.value, token.line)
            return Variable(token.value)
        if kind is Kind.KEYWORD and token.value in ("true", "false", "nil"):
            return Literal({"true": True, "false": False, "nil": None}[token.value])
        if kind in (Kind.STRING, Kind.RAW_STRING):
            return Literal(_unquote(token, self))
        if kind is Kind.CHAR:
            text = _unquote(Token(Kind.STRING, '"' + token.value[1:-1] + '"', token.line), self)
            if len(text) != 1:
                raise self.error(token, f"malformed character constant: {token.value}")
            return Literal(ord(text))
        if kind is Kind.NUMBER:
            return Literal(_number(token, self))
        if kind is Kind.LPAREN:
            return self.pipeline("parenthesized pipeline", Kind.RPAREN)
        raise self.error(token, f"unexpected {_show(token)} in operand")

    def check_variable(self, name: str, line: int) -> None:
        if name not in self.vars:
            raise GoTemplateError(self.name, line, f'undefined variable "{name}"')


def _empty(body: tuple[Node, ...]) -> bool:
    return all(isinstance(node, Text) and not node.text.strip() for node in body)


def _show(token: Token) -> str:
    return f"<{token.value}>" if token.value else token.kind.value


def _unquote(token: Token, parser: _Parser) -> str:
    if token.kind is Kind.RAW_STRING:
        return token.value[1:-1].replace("\r", "")
    body = token.value
    # Go's escapes are Python's, less \N{...} (not Go) plus \a \v, which Python has too.
    if "\\N" in body:
        raise parser.error(token, f"invalid syntax in string {body}")
    try:
        value = ast.literal_eval(body)
    except (SyntaxError, ValueError):
        raise parser.error(token, f"invalid syntax in string {body}") from None
    return value


def _number(token: Token, parser: _Parser) -> int | float:
    """Go's rules for a constant given to a function: an int unless the text has a fraction
    or an exponent (or is hexadecimal floating point)."""
    text = token.value.replace("_", "")
    if text.endswith("i"):
        raise parser.error(token, f"complex constant {token.value} not supported")
    is_hex = text.lstrip("+-").lower().startswith("0x")
    try:
        if is_hex and "p" in text.lower():
            return float.fromhex(text)
        if not is_hex and any(c in text for c in ".eE"):
            return float(text)
        digits = text.lstrip("+-")
        sign = -1 if text.startswith("-") else 1
        if len(digits) > 1 and digits[0] == "0" and digits[1].isdigit():
            return sign * int(digits[1:], 8)
        return sign * int(digits, 0)
    except ValueError:
        raise parser.error(token, f"bad number syntax: {token.value!r}") from None
