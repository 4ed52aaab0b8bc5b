"""The handler's source made small enough to inline in the template, on the same line numbers.

CloudFormation takes at most 51,200 bytes of template body, and the handler's
documentation, type hints and four-space indentation are for its readers and
mypy, not for Lambda.  Standard library only; nothing here knows what the
handler does.
"""

from __future__ import annotations

import ast
import functools
import io
import token as tokens
import tokenize
from collections.abc import Callable, Mapping


@functools.lru_cache(maxsize=4)
def parsed(source: str) -> ast.Module:
    """``source``'s syntax tree, parsed once however many readers it has (the limits, the
    inlining, the handoff's list of answers): each parse of the handler is ~15 ms of a render.
    Readers must not change the tree."""
    return ast.parse(source)



def inline_source(source: str) -> str:
    """``source`` without comments and docstrings, indented one space a level, on the same line numbers.

    CloudFormation takes at most 51,200 bytes of template body, and the
    handler's documentation, type hints and four-space indentation are for
    its readers and mypy, not for Lambda.  Every remaining line keeps its number, so a traceback from
    the deployed function points at the right line of ``handler/app.py``.

    One pass of the tokenizer finds everything to change (on Python 3.11 the tokenizer is
    pure Python, and each pass was ~20 ms of a render): comments and docstrings to drop,
    plain ``"..."`` literals to write ``'...'``, the spaces between tokens that Python
    does not need (``_Gaps``), and each line's block depth.
    """
    source = _without_annotations(source)
    plan = _Plan()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        plan.see(token)
    lines = source.splitlines(keepends=True)
    for row, col, end_row, end_col, text in sorted(plan.edits(), reverse=True):
        head = lines[row - 1][:col]
        tail = lines[end_row - 1][end_col:]
        lines[row - 1:end_row] = [head + text + tail]
    stripped = "".join(line.rstrip() + "\n" for line in "".join(lines).splitlines())
    return _reindent(stripped, plan.depth_of_start, plan.inside_string)


def _without_annotations(source: str) -> str:
    """``source`` without the type hints of parameters, returns and assignments with a value.

    The handler starts with ``from __future__ import annotations``, so its hints
    are never evaluated and dropping them changes nothing Lambda runs.  A hint
    that spans lines stays, so every line keeps its number; ``x: T`` without a
    value stays too, as removing it would leave a bare name.
    """
    tree = parsed(source)
    if not _postpones_annotations(tree):
        return source
    offset = _offsets(source)
    spans = (_hint_span(node, source, offset) for node in ast.walk(tree))
    cuts = [(begin, end) for begin, end in filter(None, spans) if "\n" not in source[begin:end]]
    for begin, end in sorted(cuts, reverse=True):
        source = source[:begin] + source[end:]
    return source


#: An ast position (row, column in UTF-8 bytes) as an offset into the source's text.
_Offset = Callable[[int, int], int]


def _postpones_annotations(tree: ast.Module) -> bool:
    """Whether the module has ``from __future__ import annotations`` (its hints are never evaluated)."""
    return any(isinstance(node, ast.ImportFrom) and node.module == "__future__"
               and any(alias.name == "annotations" for alias in node.names) for node in tree.body)


def _offsets(source: str) -> _Offset:
    """The offset into ``source`` of an ast position (ast columns count UTF-8 bytes)."""
    lines = source.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))

    def offset(row: int, byte_col: int) -> int:
        return starts[row - 1] + len(lines[row - 1].encode()[:byte_col].decode())

    return offset


def _hint_span(node: ast.AST, source: str, offset: _Offset) -> tuple[int, int] | None:
    """Where ``node``'s hint is in ``source``, with the ``:`` or ``->`` before it; None if it has none."""
    start = _hint_start(node, source, offset)
    if start is None:
        return None
    begin, hint = start
    return begin, offset(hint.end_lineno or hint.lineno, hint.end_col_offset or 0)


def _hint_start(node: ast.AST, source: str, offset: _Offset) -> tuple[int, ast.expr] | None:
    """Where the text that hints ``node`` starts (right after the name it hints), and the hint."""
    if isinstance(node, ast.arg) and node.annotation is not None:
        return offset(node.lineno, node.col_offset) + len(node.arg), node.annotation
    if isinstance(node, ast.AnnAssign) and node.value is not None:
        return offset(node.target.end_lineno or node.lineno, node.target.end_col_offset or 0), node.annotation
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.returns is not None:
        begin = source.rfind("->", 0, offset(node.returns.lineno, node.returns.col_offset))
        while source[begin - 1] == " ":
            begin -= 1
        return begin, node.returns
    return None


# Python 3.12+ tokenizes an f-string in parts, between these two tokens (-1: never, before 3.12).
_FSTRING_START: int = getattr(tokenize, "FSTRING_START", -1)
_FSTRING_END: int = getattr(tokenize, "FSTRING_END", -1)


class _Plan:
    """What ``inline_source`` changes, gathered token by token."""

    def __init__(self) -> None:
        self.comments: list[tokenize.TokenInfo] = []
        self.docstrings: list[tokenize.TokenInfo] = []
        self.requotable: list[tokenize.TokenInfo] = []
        #: row -> block depth, for rows that start a logical line.
        self.depth_of_start: dict[int, int] = {}
        #: Rows inside a multi-line string: content, whose indentation is not ours to change.
        self.inside_string: set[int] = set()
        self._depth = 0
        self._at_line_start = True
        # A string that starts a statement is a docstring only if it is the whole
        # statement: `"".join(x)` must survive.
        self._statement_start = True
        self._docstring: tokenize.TokenInfo | None = None
        #: A docstring just ended; the next token says whether its block goes on without it.
        self._after_docstring: tokenize.TokenInfo | None = None
        #: Starts of docstrings followed by another statement of their block: they go entirely,
        #: where one that is its block's only statement leaves ``''`` to keep the block valid.
        self.droppable: set[tuple[int, int]] = set()
        self._fstring_rows: list[int] = []  # rows where an f-string opened (3.12+ tokenizes them in parts)
        self.gaps = _Gaps()

    def see(self, token: tokenize.TokenInfo) -> None:
        """Take the next token of the source."""
        self.gaps.see(token)
        kind = token.type
        if kind == tokenize.COMMENT:
            self.comments.append(token)
            return
        if self._after_docstring is not None and kind not in (tokenize.NL, tokenize.NEWLINE):
            if kind not in (tokenize.DEDENT, tokenize.ENDMARKER):
                self.droppable.add(self._after_docstring.start)
            self._after_docstring = None
        if kind in (tokenize.INDENT, tokenize.DEDENT):
            self._depth += 1 if kind == tokenize.INDENT else -1
            return
        if kind == tokenize.NL:
            return
        if self._docstring is not None and kind == tokenize.NEWLINE:
            self.docstrings.append(self._docstring)
            self._after_docstring = self._docstring
        self._docstring = token if kind == tokenize.STRING and self._statement_start else None
        self._statement_start = kind == tokenize.NEWLINE
        if kind in (tokenize.NEWLINE, tokenize.ENDMARKER):
            self._at_line_start = True
            return
        if self._at_line_start:
            self.depth_of_start[token.start[0]] = self._depth
            self._at_line_start = False
        self._see_string(token)

    def _see_string(self, token: tokenize.TokenInfo) -> None:
        """Note the rows a string spans and whether it can be requoted.

        A literal inside an f-string's braces (its own token on 3.12+, part of the
        f-string's on 3.11) is never requoted, so the output is the same on each.
        """
        if token.type == _FSTRING_START:
            self._fstring_rows.append(token.start[0])
        elif token.type == _FSTRING_END:
            self.inside_string.update(range(self._fstring_rows.pop() + 1, token.end[0] + 1))
        elif token.type == tokenize.STRING:
            self.inside_string.update(range(token.start[0] + 1, token.end[0] + 1))
            if _requotable(token.string) and token.start[0] == token.end[0] and not self._fstring_rows:
                self.requotable.append(token)

    def edits(self) -> list[tuple[int, int, int, int, str]]:
        """``(row, col, end_row, end_col, replacement)`` for every change, none overlapping."""
        docstring_starts = {token.start for token in self.docstrings}
        return [
            *((*token.start, *token.end, "") for token in self.comments),
            *((*token.start, *token.end, ("" if token.start in self.droppable else "''")
               + "\n" * (token.end[0] - token.start[0])) for token in self.docstrings),
            *((*token.start, *token.end, _single_quoted(token.string))
              for token in self.requotable if token.start not in docstring_starts),
            *self.gaps.edits,
        ]


#: Tokens that are layout, not code: the gaps between them are the indentation's and line ends' business.
_LAYOUT = frozenset({tokenize.NEWLINE, tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT,
                     tokenize.ENDMARKER})


class _Gaps:
    """The whitespace between two tokens of a line, cut to what Python needs to tell them apart.

    Every ``=``, ``,`` and ``:`` of the handler is written with spaces around or after it,
    and each costs a byte of template body.  Only gaps within one physical line change: a
    newline inside brackets or after a backslash stays, and so does every line's number.
    An f-string is one token to this class on every interpreter (3.12+ tokenizes its
    inside, which is never ours to change), so the output is the same on each of them.
    """

    def __init__(self) -> None:
        #: ``(row, col, row, end_col, " " or "")`` for each gap that changes.
        self.edits: list[tuple[int, int, int, int, str]] = []
        self._last: tokenize.TokenInfo | None = None
        self._fstring_starts: list[tokenize.TokenInfo] = []

    def see(self, token: tokenize.TokenInfo) -> None:
        """Take the next token of the source."""
        if token.type in _LAYOUT:
            return
        if token.type == _FSTRING_START:
            self._fstring_starts.append(token)
        elif token.type == _FSTRING_END:
            start = self._fstring_starts.pop()
            if not self._fstring_starts:  # the outermost f-string, as 3.11 tokenizes it: one STRING
                self._follow(token._replace(type=tokenize.STRING, string=start.string + token.string,
                                            start=start.start))
        elif not self._fstring_starts:
            self._follow(token)

    def _follow(self, token: tokenize.TokenInfo) -> None:
        """Record the gap between the previous token and ``token`` if it is on the same line and must change.

        An f-string's first part comes here once it is whole, so its gap is
        decided from the whole f-string, exactly as on 3.11.
        """
        last, self._last = self._last, token
        if last is None or last.end[0] != token.start[0]:
            return
        gap = " " if _would_merge(last, token) else ""
        if token.start[1] - last.end[1] != len(gap):
            self.edits.append((*last.end, *token.start, gap))


def _would_merge(left: tokenize.TokenInfo, right: tokenize.TokenInfo) -> bool:
    """Whether ``left`` and ``right`` written with nothing between them would tokenize differently.

    Words run together (``return x``, ``1 if``, ``else f"..."``: a string prefix is a word);
    a number takes a following dot into itself (``1 .real``); two operators can make a
    third (``= =``, ``* *``); and ``'' ''`` would open a triple-quoted string, so two
    strings keep their space.
    """
    if left.type == right.type == tokenize.STRING:
        return True
    if left.type == tokenize.NUMBER and right.string.startswith("."):
        return True
    if _is_word_char(left.string[-1]) and _is_word_char(right.string[0]):
        return True
    return left.type == right.type == tokenize.OP and _operators_merge(left.string, right.string)


def _is_word_char(char: str) -> bool:
    """Whether ``char`` can continue a name or number (non-ASCII letters can)."""
    return char.isalnum() or char == "_" or not char.isascii()


#: Python's operators and delimiters (``!`` too on 3.12+, which only f-strings' insides use).
_OPERATORS = frozenset(tokens.EXACT_TOKEN_TYPES)


def _operators_merge(left: str, right: str) -> bool:
    """Whether the operator ``left`` followed by ``right`` would be read as a longer operator.

    ``. .`` counts too: three dots in a row (``from . . . import x``) would read as ``...``.
    """
    joined = left + right
    return left == right == "." or any(
        len(op) > len(left) and op.startswith(left) and joined.startswith(op) for op in _OPERATORS)


def _requotable(text: str) -> bool:
    """Whether the literal ``text`` is a plain ``"..."`` string that ``'...'`` writes as well.

    Only literals that hold no quote or backslash and are not f-strings
    (Python 3.12 tokenizes f-strings in parts, so leaving them alone keeps the
    output the same on every interpreter); JSON escapes every ``"`` of ``ZipFile``.
    """
    body = text[len(_prefix(text)):]
    return (len(body) >= 2 and body[0] == '"' and not body.startswith('"""') and "'" not in body
            and "\\" not in body and body.count('"') == 2)


def _prefix(text: str) -> str:
    """The string literal ``text``'s prefix (``r``, ``b``, ``u``...; f-strings are not requoted)."""
    return text[: len(text) - len(text.lstrip("rRbBuU"))]


def _single_quoted(text: str) -> str:
    """The requotable literal ``text`` written with single quotes: the same string."""
    prefix = _prefix(text)
    return prefix + "'" + text[len(prefix) + 1:-1] + "'"


def _reindent(source: str, depth_of_start: Mapping[int, int], inside_string: set[int]) -> str:
    """``source`` with one space per block level and no indentation on continuation lines.

    Only a logical line's first physical line carries meaning in its
    indentation (``depth_of_start``); lines continued inside brackets (or after a backslash) keep a
    single space, and lines inside a multi-line string are content, untouched.
    """
    out = []
    for row, line in enumerate(source.splitlines(keepends=True), start=1):
        stripped = line.lstrip(" \t")
        if row in inside_string or stripped in ("\n", ""):
            out.append(line)
        elif row in depth_of_start:
            out.append(" " * depth_of_start[row] + stripped)
        else:
            out.append(" " + stripped if stripped != line else line)
    return "".join(out)
