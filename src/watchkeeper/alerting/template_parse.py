"""Parsing Prometheus's alert templates (Go text/template's syntax) into nodes that
``templates`` executes: tokens, pipelines, actions and the ``if``/``range``/``with``/
``define`` blocks. Kept apart from execution so each stays readable on its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from watchkeeper.alerting.template_funcs import FUNCTIONS, TemplateError

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<str>"(?:[^"\\\n]|\\.)*")
  | (?P<raw>`[^`]*`)
  | (?P<char>'(?:[^'\\]|\\.)+')
  | (?P<num>[-+]?(?:0[xX][0-9a-fA-F]+|\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?))
  | (?P<decl>:=)
  | (?P<assign>=)
  | (?P<var>\$\w*(?:\.\w+)*)
  | (?P<field>(?:\.\w+)+|\.)
  | (?P<ident>[A-Za-z_]\w*(?:\.\w+)*)
  | (?P<punct>[|(),])
""", re.VERBOSE)

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'", "0": "\0"}


@dataclass
class Tok:
    kind: str
    text: str


@dataclass
class Arg:
    kind: str  # field, var, lit, ident, pipe
    value: Any
    chain: tuple[str, ...] = ()


@dataclass
class Pipeline:
    decls: list[str]
    commands: list[list[Arg]]
    assign: bool = False


@dataclass
class Node:
    kind: str  # text, action, if, range, with
    text: str = ""
    pipe: Pipeline | None = None
    body: list[Node] = field(default_factory=list)
    alt: list[Node] = field(default_factory=list)


def _tokenize(src: str, where: str) -> list[Tok]:
    toks, pos = [], 0
    while pos < len(src):
        m = _TOKEN.match(src, pos)
        if not m:
            raise TemplateError(f"{where}: unexpected {src[pos]!r} in command")
        pos = m.end()
        if m.lastgroup != "ws":
            toks.append(Tok(m.lastgroup or "", m.group()))
    return toks


def _unquote(text: str) -> str:
    body = text[1:-1]
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), body)


# What Prometheus defines before every alert template (plus an anomaly's figures)
ALERT_VARIABLES = ("$labels", "$externalLabels", "$externalURL", "$value", "$baseline",
                   "$score", "$current")


class Parser:
    def __init__(self, text: str, name: str, variables: tuple[str, ...] = ALERT_VARIABLES
                 ) -> None:
        self.name = name
        self.actions = self._split(text, name)
        self.i = 0
        self.vars = ["$", *variables]  # declared so far, innermost last (checked as Go does)
        self.defines: dict[str, list[Node]] = {}

    @staticmethod
    def _split(text: str, name: str) -> list[tuple[str, str, int]]:
        """Text and action chunks, with trimming applied."""
        chunks: list[tuple[str, str, int]] = []
        pos = 0
        while True:
            start = text.find("{{", pos)
            if start < 0:
                chunks.append(("text", text[pos:], pos))
                return chunks
            chunk = text[pos:start]
            inner_start = start + 2
            if text.startswith("- ", inner_start) or text.startswith("-\n", inner_start):
                chunk = chunk.rstrip()
                inner_start += 1
            chunks.append(("text", chunk, pos))
            end = _find_close(text, inner_start, name)
            inner_end, after = end, end + 2
            trim_after = text[end - 1] == "-" and end - 1 >= inner_start and \
                text[end - 2:end - 1].isspace()
            if trim_after:
                inner_end -= 1
            chunks.append(("action", text[inner_start:inner_end], start))
            pos = after
            if trim_after:
                while pos < len(text) and text[pos].isspace():
                    pos += 1

    def parse(self) -> list[Node]:
        nodes, end = self._list(())
        if end is not None:
            raise TemplateError(f"{self.name}: unexpected {{{{{end}}}}}")
        return nodes

    def _list(self, stops: tuple[str, ...]) -> tuple[list[Node], str | None]:
        nodes: list[Node] = []
        while self.i < len(self.actions):
            kind, text, _ = self.actions[self.i]
            self.i += 1
            if kind == "text":
                if text:
                    nodes.append(Node("text", text))
                continue
            inner = text.strip()
            if inner.startswith("/*"):
                if not inner.endswith("*/"):
                    raise TemplateError(f"{self.name}: unclosed comment")
                continue
            word = inner.split(None, 1)[0] if inner else ""
            if word in ("end", "else"):
                if word not in stops:
                    raise TemplateError(f"{self.name}: unexpected {{{{{word}}}}}")
                return nodes, inner
            if word in ("if", "range", "with"):
                nodes.append(self._block(word, inner[len(word):]))
            elif word in ("define", "template", "block"):
                nodes.extend(self._named(word, inner[len(word):]))
            elif word in ("break", "continue"):
                raise TemplateError(f"{self.name}: {{{{{word}}}}} is not supported here")
            else:
                nodes.append(Node("action", pipe=self._pipeline(inner)))
        if stops:
            raise TemplateError(f"{self.name}: unexpected EOF, missing {{{{end}}}}")
        return nodes, None

    def _named(self, word: str, rest: str) -> list[Node]:
        """``define``/``block`` store a named body; ``template``/``block`` run one."""
        m = re.match(r'\s*("(?:[^"\\]|\\.)*"|`[^`]*`)', rest)
        if not m:
            raise TemplateError(f"{self.name}: {word} needs a quoted template name")
        name = _unquote(m.group(1)) if m.group(1).startswith('"') else m.group(1)[1:-1]
        tail = rest[m.end():]
        pipe = self._pipeline(tail) if tail.strip() and word != "define" else None
        if word in ("define", "block"):
            outer = self.vars
            self.vars = ["$"]  # a named template sees only its own dot, as in Go
            body, _ = self._list(("end",))
            self.vars = outer
            self.defines[name] = body
        return [] if word == "define" else [Node("template", text=name, pipe=pipe)]

    def _block(self, word: str, rest: str) -> Node:
        if not rest.strip():
            raise TemplateError(f"{self.name}: missing value for {word}")
        depth = len(self.vars)
        try:
            return self._block_body(word, rest)
        finally:
            del self.vars[depth:]  # a block's variables end with it

    def _block_body(self, word: str, rest: str) -> Node:
        node = Node(word, pipe=self._pipeline(rest, allow_two=word == "range"))
        node.body, end = self._list(("end", "else"))
        if end is not None and end != "end":
            tail = end[4:].strip()
            if tail.startswith("if") and word == "if":
                node.alt = [self._block("if", tail[2:])]
                return node
            if tail:
                raise TemplateError(f"{self.name}: unexpected {tail!r} after else")
            node.alt, end = self._list(("end",))
        return node

    def _pipeline(self, text: str, allow_two: bool = False) -> Pipeline:
        toks = _tokenize(text, self.name)
        decls: list[str] = []
        assign = False
        for n in (2, 1):
            kinds = [t.kind for t in toks[: 2 * n]]
            want = ["var", "punct"] * (n - 1) + ["var", "decl"]
            if n == 2 and not allow_two:
                continue
            if kinds == want or (n == 1 and kinds == ["var", "assign"]):
                decls = [t.text for t in toks[: 2 * n : 2]]
                assign = kinds[-1] == "assign"
                toks = toks[2 * n:]
                break
        pipe, rest = self._commands(toks)
        if rest:
            raise TemplateError(f"{self.name}: unexpected {rest[0].text!r} in command")
        pipe.decls, pipe.assign = decls, assign
        self.vars.extend(decls)  # Go's parser declares on "=" too
        return pipe

    def _commands(self, toks: list[Tok]) -> tuple[Pipeline, list[Tok]]:
        commands: list[list[Arg]] = [[]]
        while toks:
            tok = toks[0]
            if tok.text == ")":
                break
            toks = toks[1:]
            if tok.text == "|":
                if not commands[-1]:
                    raise TemplateError(f"{self.name}: missing command before |")
                commands.append([])
            elif tok.text == "(":
                inner, toks = self._commands(toks)
                if not toks or toks[0].text != ")":
                    raise TemplateError(f"{self.name}: unclosed left paren")
                toks = toks[1:]
                chain: tuple[str, ...] = ()
                if toks and toks[0].kind == "field" and toks[0].text != ".":
                    chain = tuple(toks[0].text[1:].split("."))
                    toks = toks[1:]
                commands[-1].append(Arg("pipe", inner, chain))
            else:
                commands[-1].append(self._arg(tok))
        if not commands[-1]:
            raise TemplateError(f"{self.name}: missing value for command")
        return Pipeline([], commands), toks

    def _arg(self, tok: Tok) -> Arg:
        if tok.kind in ("str", "raw"):
            return Arg("lit", _unquote(tok.text) if tok.kind == "str" else tok.text[1:-1])
        if tok.kind == "char":
            return Arg("lit", ord(_unquote(tok.text)[0]))
        if tok.kind == "num":
            text = tok.text
            is_int = re.fullmatch(r"[-+]?(?:0[xX][0-9a-fA-F]+|\d+)", text) is not None
            if not is_int:
                return Arg("lit", float(text))
            return Arg("lit", int(text, 16 if "x" in text.lower() else 10))
        if tok.kind == "var":
            name, *chain = tok.text.split(".")
            if name not in self.vars:
                raise TemplateError(f'{self.name}: undefined variable "{name}"')
            return Arg("var", name, tuple(chain))
        if tok.kind == "field":
            return Arg("field", None, tuple(p for p in tok.text.split(".") if p))
        if tok.kind == "ident":
            name, *chain = tok.text.split(".")
            if name in ("true", "false"):
                return Arg("lit", name == "true")
            if name == "nil":
                return Arg("lit", None)
            if name not in FUNCTIONS:
                raise TemplateError(f'{self.name}: function "{name}" not defined')
            return Arg("ident", name, tuple(chain))
        raise TemplateError(f"{self.name}: unexpected {tok.text!r} in operand")


def _find_close(text: str, pos: int, name: str) -> int:
    """Index of the ``}}`` closing an action, skipping quoted strings."""
    i = pos
    while i < len(text):
        c = text[i]
        if c in "\"`'":
            j = i + 1
            while j < len(text) and text[j] != c:
                if text[j] == "\n" and c != "`":
                    break
                j += 2 if text[j] == "\\" and c != "`" else 1
            if j >= len(text) or text[j] != c:
                raise TemplateError(f"{name}: unterminated quoted string")
            i = j + 1
            continue
        if text.startswith("}}", i):
            return i
        i += 1
    raise TemplateError(f"{name}: unclosed action")
