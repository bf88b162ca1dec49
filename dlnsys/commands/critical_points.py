"""``dlnsys critical-points``: the signatures of a network, their critical values, kinds and arcs."""
from __future__ import annotations

from . import add_json_arg, add_network_args, format_set, network_from_args, new_parser, print_json

NAME = "critical-points"
HELP = "list the signatures of the critical points with critical value (31), kind and arcs (Theorem 24)"


def add_parser(subparsers):
    p = new_parser(
        subparsers, NAME, HELP,
        description="List the 2^d_y signatures S (learned singular values, 1-based) of the critical points "
                    "of the loss, sorted by critical value 1/2 sum_{i not in S} sigma_i^2 (eq. 31), with the "
                    "kind of their critical points (Props. 14, 18, 21, 23) and the numbers of unstable and "
                    "stable arcs of Theorem 24 (2^(d_y-k)-1 and 2^k-1). Bottleneck networks (Section 7) "
                    "list only the signatures of at most d_min indices.",
        examples=[
            "dlnsys critical-points --dims 11,6,6,6,6,4 --sigma 7,5.5,4,2.5",
            "dlnsys critical-points --dims 1,1,1 --sigma 1 --json",
        ])
    add_network_args(p, gamma=False)
    add_json_arg(p)
    return p


def run(args):
    from ..critical import signatures

    net = network_from_args(args)
    table = signatures(net)
    if args.json:
        out = table.to_dict()
        out["dims"] = list(net.dims)
        out["sigma"] = [float(s) for s in net.sigma]
        print_json(out)
        return 0
    width = max(len(format_set(e.signature)) for e in table) if len(table) else 9
    width = max(width, len("signature"))
    lines = [f"network  dims {net.dims}, sigma {[float(v) for v in net.sigma]}",
             f"global minimum {format_set(table.global_minimum)}; {len(table)} signatures"]
    lines += [f"note: {n}" for n in table.notes]
    lines.append(f"{'signature':<{width}}  {'value':>12}  {'kind':<27}  unstable  stable")
    for e in table:
        lines.append(f"{format_set(e.signature):<{width}}  {e.critical_value:>12.6g}  {e.kind:<27}  "
                     f"{e.n_unstable_arcs:>8}  {e.n_stable_arcs:>6}")
    print("\n".join(lines))
    return 0
