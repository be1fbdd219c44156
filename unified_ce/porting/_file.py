"""``port-file``: rewrite the cross-entropy calls of a Python source file into another dialect.

The file is read as a concrete syntax tree (LibCST), so formatting and comments survive.  Every
call (or, for a loss class, construction) of a dialect's loss API -- found through the file's own
imports (``import chainer.functions as F``, ``from mxnet import gluon``, ...) -- whose option
arguments are literals is ported with :func:`~unified_ce.port`; a verified translation becomes a
helper function at the top of the file (its body: the emitted code) and the call becomes a call of
that helper, with the same array arguments.  A call that cannot be ported keeps its place and gets
a ``# unified_ce: ...`` comment saying why (an argument that is not a literal, no exact
equivalent, a translation that depends on the rank).
"""

from __future__ import annotations

import ast
import difflib
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._errors import InvalidArgumentError
from ._args import role
from ._port import PortResult, emit, port
from ._registry import Api, apis, dialects, idiom

__all__ = ["port_file", "port_source"]


def _api_paths() -> dict[str, Api]:
    """``{"chainer.functions.softmax_cross_entropy": Api, ...}``: the real dotted path of every API."""
    out: dict[str, Api] = {}
    for d in dialects():
        idm = idiom(d)
        for api in apis(d):
            if api.name not in idm.apis:
                continue
            imp, expr = idm.apis[api.name]
            words = imp.split()
            if words[0] == "import":  # import a.b.c [as F]
                module, alias = words[1], words[-1] if "as" in words else words[1]
            else:  # from a.b import c [as F]
                module, alias = f"{words[1]}.{words[3]}", words[-1]
            head, _, rest = expr.partition(".")
            path = (module if head == alias else head) + ("." + rest if rest else "")
            out[path] = api
            for a, obj in vars(sys.modules[api.obj.__module__]).items():  # aliases (SoftmaxCELoss)
                if obj is api.obj and a != api.name and a in idm.apis:
                    out[path.rsplit(".", 1)[0] + "." + a] = api
    return out


def _dotted(node: Any) -> str | None:
    import libcst as cst

    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = _dotted(node.value)
        return None if base is None else f"{base}.{node.attr.value}"
    return None


@dataclass
class _Found:
    """A call to port and what became of it."""

    api: Api
    text: str
    helper: str | None = None
    reason: str | None = None


@dataclass
class _State:
    dest: str
    ndim: int | None
    paths: dict[str, Api]
    aliases: dict[str, str] = field(default_factory=dict)
    helpers: list[str] = field(default_factory=list)
    found: list[_Found] = field(default_factory=list)
    cache: dict[Any, tuple[str | None, str | None]] = field(default_factory=dict)


def _literal(code: str) -> tuple[bool, Any]:
    try:
        return True, ast.literal_eval(code)
    except (ValueError, SyntaxError):
        return False, None


def _result(state: _State, api: Api, kwargs: dict[str, Any]) -> tuple[PortResult | None, str, str | None]:
    """``(result, helper code or "", reason)``; a rank-dependent port is accepted for the ranks >= 2
    when one translation covers all of them (``--ndim`` pins a rank)."""
    try:
        r = port(api.qualname, state.dest, ndim=state.ndim, **kwargs)
    except InvalidArgumentError as exc:
        return None, "", str(exc)
    if r.exact:
        return r, r.code, None
    plans = r.plans
    hi = [k for k in plans if k >= 2]
    if hi and len({id(plans[k]) for k in hi}) == 1 and "depends on the rank" in r.notes[0]:
        ranks = [line.split(":")[0].strip("# ") for line in r.notes[1:] if line and not line.startswith("    ")]
        if not any(k in (2, 3, 4) for k in range(2, 5) if k not in plans):
            return r, emit(plans[hi[0]], r.names), f"rank 1 differs ({'; '.join(ranks)})"
    reason = r.notes[0] + (
        f"; {r.notes[1].strip()}" if len(r.notes) > 1 and not r.notes[1].startswith(("rank", "    ")) else ""
    )
    return None, "", reason


def port_source(source: str, dest: str, *, ndim: int | None = None) -> tuple[str, list[str]]:
    """``(new source, messages)``: ``source`` with its loss calls ported to ``dest``."""
    import libcst as cst

    if dest not in dialects():
        from ._args import suggest

        raise InvalidArgumentError(f"unknown target dialect {dest!r}{suggest(dest, dialects())}")
    module = cst.parse_module(source)
    state = _State(dest, ndim, _api_paths())

    class Imports(cst.CSTVisitor):
        def visit_Import(self, node: cst.Import) -> None:
            for a in node.names:
                full = _dotted(a.name)
                if full is None:
                    continue
                if a.asname is not None and isinstance(a.asname.name, cst.Name):
                    state.aliases[a.asname.name.value] = full
                else:
                    state.aliases[full.split(".")[0]] = full.split(".")[0]

        def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
            mod = _dotted(node.module) if node.module is not None else None
            if mod is None or isinstance(node.names, cst.ImportStar):
                return
            for a in node.names:
                name = _dotted(a.name)
                local = a.asname.name.value if a.asname is not None and isinstance(a.asname.name, cst.Name) else name
                if name and local:
                    state.aliases[local] = f"{mod}.{name}"

    module.visit(Imports())

    def full_name(node: Any) -> str | None:
        d = _dotted(node)
        if d is None:
            return None
        head, _, rest = d.partition(".")
        if head not in state.aliases:
            return None
        return state.aliases[head] + ("." + rest if rest else "")

    def resolve(node: Any) -> Api | None:
        full = full_name(node)
        return None if full is None else state.paths.get(full)

    def helper_for(api: Api, kwargs: dict[str, Any], arrays: list[str]) -> tuple[str | None, str | None]:
        key = (api, tuple(sorted(kwargs.items(), key=str)))
        if key in state.cache:
            return state.cache[key]
        r, code, why = _result(state, api, kwargs)
        if r is None:
            state.cache[key] = (None, why)
            return None, why
        name = f"_uce_{api.name.lower()}_{len(state.helpers) + 1}"
        names = r.names
        params = ["x", "t"] + [f"{names[a]}=None" for a in ("sw",) if a in names]
        if "w" in names:
            params.append(f"*, {names['w']}")
        args = ", ".join(kwargs_text(api, kwargs))
        doc = f"{api.qualname}({args}) ported to {state.dest} by unified_ce (verified: `unified-ce port`)"
        if why:
            doc += f"; for inputs of rank >= 2: {why}"
        body = "\n".join("    " + line for line in code.splitlines())
        state.helpers.append(f'def {name}({", ".join(params)}):\n    """{doc}."""\n{body}\n    return loss\n')
        state.cache[key] = (name, None)
        return name, None

    def kwargs_text(api: Api, kwargs: dict[str, Any]) -> list[str]:
        return [f"{k}={v}" if isinstance(v, str) and _is_array(api, k) else f"{k}={v!r}" for k, v in kwargs.items()]

    class Rewrite(cst.CSTTransformer):
        def __init__(self) -> None:
            self.comments: list[list[str]] = [[]]

        def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
            self.comments.append([])

        def leave_SimpleStatementLine(
            self, original: cst.SimpleStatementLine, updated: cst.SimpleStatementLine
        ) -> cst.SimpleStatementLine:
            notes = self.comments.pop()
            if not notes:
                return updated
            lines = [cst.EmptyLine(comment=cst.Comment(f"# unified_ce: {n}")) for n in notes]
            return updated.with_changes(leading_lines=[*updated.leading_lines, *lines])

        def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
            api = resolve(original.func)
            if api is None:
                if full_name(original.func) in _DEFAULT_LOSS:
                    return self._default_loss(original, updated)
                return updated
            return self._port_call(api, original, updated)

        def _default_loss(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
            # a model wrapper whose default loss is a dialect's (chainer.links.Classifier: lossfun=
            # softmax_cross_entropy): pass the ported loss explicitly
            keyword, position, api_name = _DEFAULT_LOSS[full_name(original.func) or ""]
            given = any(a.keyword is not None and a.keyword.value == keyword for a in original.args)
            if given or sum(a.keyword is None for a in original.args) > position:
                return updated
            api = next((a for d in dialects() for a in apis(d) if a.qualname == api_name), None)
            if api is None:
                return updated
            name, why = helper_for(api, {}, [])
            text = module.code_for_node(original)
            state.found.append(_Found(api, f"{text} (its default {keyword})", name, why))
            if name is None:
                self.comments[-1].append(f"the default {keyword} of {_short(text)} not ported to {state.dest}: {why}")
                return updated
            args = list(updated.args)
            if args:
                args[-1] = args[-1].with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
            args.append(cst.Arg(value=cst.Name(name), keyword=cst.Name(keyword), equal=_eq()))
            return updated.with_changes(args=args)

        def leave_Arg(self, original: cst.Arg, updated: cst.Arg) -> cst.Arg:
            return updated.with_changes(value=self._value(original.value, updated.value))

        def leave_Param(self, original: cst.Param, updated: cst.Param) -> cst.Param:
            if original.default is None or updated.default is None:
                return updated
            return updated.with_changes(default=self._value(original.default, updated.default))

        def leave_Assign(self, original: cst.Assign, updated: cst.Assign) -> cst.Assign:
            return updated.with_changes(value=self._value(original.value, updated.value))

        def _value(self, original: Any, updated: Any) -> Any:
            if not isinstance(original, (cst.Name, cst.Attribute)):
                return updated
            api = resolve(original)
            if api is None or api.is_class:
                return updated
            text = module.code_for_node(original)
            name, why = helper_for(api, {}, [])
            state.found.append(_Found(api, text, name, why))
            if name is None:
                self.comments[-1].append(f"{text} not ported to {state.dest}: {why}")
                return updated
            return cst.Name(name)

        def _port_call(self, api: Api, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
            text = module.code_for_node(original)
            positional = list(api.params if api.is_class else api.call_params)
            arrays: dict[str, cst.BaseExpression] = {}
            kwargs: dict[str, Any] = {}
            head: list[cst.Arg] = []
            why = None
            n_pos = 0
            for arg in original.args:
                if arg.star:
                    why = "a *args / **kwargs argument"
                    break
                if arg.keyword is None:
                    if not api.is_class and n_pos < 2:
                        head.append(arg.with_changes(keyword=None, equal=cst.MaybeSentinel.DEFAULT))
                        n_pos += 1
                        continue
                    i = n_pos - (0 if api.is_class else 2)
                    if i >= len(positional):
                        why = "more positional arguments than the API takes"
                        break
                    pname = positional[i].name
                    n_pos += 1
                else:
                    pname = arg.keyword.value
                code = module.code_for_node(arg.value)
                if _is_array(api, pname):
                    arrays[pname] = arg.value
                    kwargs[pname] = "sw" if role(api, pname) == "sample_weight" else "w"
                    continue
                ok, value = _literal(code)
                if not ok:
                    why = f"{pname}={code} is not a literal (port-file ports calls whose options are literals)"
                    break
                kwargs[pname] = value
            if (
                why is None
                and not api.is_class
                and n_pos < 2
                and not any(
                    a.keyword is not None and a.keyword.value in (p.name for p in api.params) for a in original.args
                )
            ):
                why = "the logits and target are not the first two positional arguments"
            name = None
            if why is None:
                name, why = helper_for(api, kwargs, list(arrays))
            state.found.append(_Found(api, text, name, why))
            if name is None:
                self.comments[-1].append(f"{_short(text)} not ported to {state.dest}: {why}")
                return updated
            new_args = list(head)
            for pname, value in arrays.items():
                key = "sw" if role(api, pname) == "sample_weight" else "w"
                arg_name = _array_param(key, kwargs, pname)
                new_args.append(cst.Arg(value=value, keyword=cst.Name(arg_name), equal=_eq()))
            if api.is_class:  # the loss object becomes a function of (x, t[, sw]) with the weights bound
                if not arrays:
                    return cst.Name(name)
                inner = ", ".join(
                    f"{_array_param('w', kwargs, p)}={module.code_for_node(v)}" for p, v in arrays.items()
                )
                return cst.parse_expression(f"lambda x, t, *rest: {name}(x, t, *rest, {inner})")
            if new_args:
                new_args[-1] = new_args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
            return cst.Call(func=cst.Name(name), args=new_args)

    new = module.visit(Rewrite())
    code = new.code
    messages = []
    for f in state.found:
        messages.append(f"{_short(f.text)}: " + (f"ported ({f.helper})" if f.helper else f"not ported: {f.reason}"))
    if state.helpers:
        code = _insert_helpers(new, state.helpers)
    return code, messages


#: Model wrappers whose default loss is a dialect API: ``{path: (keyword, its position, API)}``.
_DEFAULT_LOSS = {
    "chainer.links.Classifier": ("lossfun", 1, "chainer.softmax_cross_entropy"),
    "chainer.links.model.classifier.Classifier": ("lossfun", 1, "chainer.softmax_cross_entropy"),
}


def _eq() -> Any:
    import libcst as cst

    return cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace(""))


def _array_param(key: str, kwargs: dict[str, Any], pname: str) -> str:
    return key if key in ("w", "sw") else pname


def _is_array(api: Api, pname: str) -> bool:
    try:
        return role(api, pname) in ("class_weight", "sample_weight")
    except StopIteration:
        return False


def _short(text: str) -> str:
    one = " ".join(text.split())
    return one if len(one) <= 80 else one[:77] + "..."


def _insert_helpers(module: Any, helpers: list[str]) -> str:
    """The module's code with the helpers after its docstring, ``__future__`` imports and imports."""
    import libcst as cst

    body = list(module.body)
    at = 0
    for i, stmt in enumerate(body):
        if isinstance(stmt, cst.SimpleStatementLine) and all(
            isinstance(s, (cst.Import, cst.ImportFrom))
            or (isinstance(s, cst.Expr) and isinstance(s.value, cst.SimpleString))
            for s in stmt.body
        ):
            at = i + 1
        else:
            break
    parsed = [cst.parse_statement(h) for h in helpers]
    parsed = [p.with_changes(leading_lines=[cst.EmptyLine(), cst.EmptyLine()]) for p in parsed]
    new_body = body[:at] + parsed + body[at:]
    if at < len(body):
        first = new_body[at + len(parsed)]
        if not first.leading_lines:
            new_body[at + len(parsed)] = first.with_changes(leading_lines=[cst.EmptyLine(), cst.EmptyLine()])
    return str(module.with_changes(body=new_body).code)


def port_file(path: str, dest: str, *, ndim: int | None = None, write: bool = False) -> int:
    """The ``port-file`` command: print a unified diff (or write the file); 1 if a call was left."""
    p = Path(path)
    old = p.read_text(encoding="utf-8")
    new, messages = port_source(old, dest, ndim=ndim)
    for m in messages:
        print(f"# {m}", file=sys.stderr)
    if not messages:
        print(f"# no cross-entropy call of a supported dialect found in {path}", file=sys.stderr)
    if write:
        if new != old:
            p.write_text(new, encoding="utf-8")
    else:
        sys.stdout.writelines(
            difflib.unified_diff(old.splitlines(True), new.splitlines(True), f"a/{path}", f"b/{path}")
        )
    return 1 if any("not ported" in m for m in messages) else 0
