"""A network as a diagram: Graphviz source (DOT) for `st.graphviz_chart`, drawn in the browser (no system binary).

Stage: figures (a `nnlab.analysis.diagram.Diagram` in, a DOT string out). Layers are boxes with their output shape
and parameters, in order from the input down; each block is a dashed group, or one box when it is folded.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from ..analysis.diagram import Box, Diagram


def _shape(shape: tuple[int, ...]) -> str:
    return "×".join(map(str, shape)) if shape else "—"


def _count(n: int) -> str:
    return f"{n} layer" if n == 1 else f"{n} layers"


def _quoted(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")  # a new line: DOT's \n
    return '"' + escaped + '"'


def _node(key: str, title: str, lines: list[str], *, fill: str, link: tuple[str, str, str] | None = None) -> str:
    label = "\n".join([title, *lines])
    extra = ""
    if link is not None:  # SVG renders URL as a link (<a xlink:href target>) around the box
        url, target, tip = link
        extra = f", URL={_quoted(url)}, target={_quoted(target)}, tooltip={_quoted(tip)}, penwidth=1.6"
    return f'  {_quoted(key)} [label={_quoted(label)}, fillcolor="{fill}"{extra}];'


def diagram_dot(
    diagram: Diagram,
    *,
    fold: Collection[str] = (),
    links: Mapping[str, str] | None = None,
    target: str = "_self",
    tip: str = "Open {block} in the layer walk-through",
) -> str:
    """DOT source of the network, top to bottom; the groups named in `fold` drawn as one box each.

    `links`: block (group) name → address; each box of that block (or its one folded box) becomes a link to it,
    opened in `target` ("_self": this tab), with `tip` (its `{block}` filled in) shown on hover."""
    links = dict(links or {})

    def link(group: str) -> tuple[str, str, str] | None:
        return (links[group], target, tip.format(block=group)) if group in links else None

    lines = [
        "digraph network {",
        '  graph [rankdir=TB, nodesep=0.25, ranksep=0.25, fontname="Helvetica", fontsize=11];',
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=10, color="#64748b"];',
        '  edge [color="#64748b", arrowsize=0.6];',
        _node("input", "input", [_shape(diagram.input_shape)], fill="#e2e8f0"),
    ]
    order, groups = ["input"], {}
    for box in diagram.boxes:
        groups.setdefault(box.group, []).append(box)
    done = set()
    for box in diagram.boxes:
        if box.group in fold and box.group:
            if box.group in done:
                continue
            done.add(box.group)
            members = groups[box.group]
            n = sum(b.parameters for b in members)
            key = f"group:{box.group}"
            lines.append(
                _node(
                    key,
                    box.group,
                    [
                        f"{len(members)} layer{'' if len(members) == 1 else 's'}",
                        _shape(members[-1].shape),
                        f"{n:,} parameters",
                    ],
                    fill="#dbeafe",
                    link=link(box.group),
                )
            )
            order.append(key)
            continue
        order.append(box.name)
    for group, members in groups.items():
        if not group or group in fold:
            continue
        lines.append(f"  subgraph {_quoted('cluster_' + group)} {{")
        lines.append(f'    label={_quoted(group)}; style="dashed,rounded"; color="#94a3b8";')
        lines += ["  " + _box(b, link(group)) for b in members]
        lines.append("  }")
    lines += [_box(b, None) for b in groups.get("", [])]
    lines += [f"  {_quoted(a)} -> {_quoted(b)};" for a, b in zip(order, order[1:], strict=False)]
    lines.append(f'  label={_quoted(f"{diagram.total:,} parameters in all")}; labelloc="b";')
    lines.append("}")
    return "\n".join(lines)


def _box(box: Box, link: tuple[str, str, str] | None) -> str:
    title = f"{box.name} ({box.point})" if box.point and box.point != box.name else box.name
    params = f"{box.parameters:,} parameters" if box.parameters else "no parameters"
    fill = "#fef3c7" if box.parameters else "#f8fafc"
    return _node(box.name, title, [box.type, _shape(box.shape), params], fill=fill, link=link)
