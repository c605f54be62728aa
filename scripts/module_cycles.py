#!/usr/bin/env python3
"""Lists import cycles between the modules of each workspace crate.

A module's dependencies are the modules its code names through `crate::...` or `super::...`
paths (comments and the test module at the end of a file skipped). A module naming its own descendant or ancestor is not counted: a
parent declares its children and children may read their parent. Prints every cycle found
and exits 1 when there is one.
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CRATES = ["sim-core", "envs", "agents", "agents-llm", "learn", "scenarios", "python"]


def module_path(src, file):
    rel = os.path.relpath(file, src)[:-3].split(os.sep)
    if rel[-1] in ("lib", "main", "mod"):
        rel = rel[:-1]
    return tuple(rel)


def related(a, b):
    return a[: len(b)] == b or b[: len(a)] == a


def crate_cycles(crate):
    src = os.path.join(ROOT, crate, "src")
    files = [os.path.join(d, f) for d, _, fs in os.walk(src) for f in fs if f.endswith(".rs")]
    modules = {module_path(src, f): f for f in files}

    def resolve(path):
        while path and path not in modules:
            path = path[:-1]
        return path

    edges = {m: set() for m in modules}
    for module, file in modules.items():
        for line in open(file, encoding="utf-8"):
            if line.strip() == "#[cfg(test)]":
                break  # a test module at the end may read any module of the crate
            code = line.split("//", 1)[0]
            for path in re.findall(r"\bcrate((?:::[a-z_][a-z0-9_]*)+)", code):
                target = resolve(tuple(path.split("::")[1:]))
                if not related(module, target):
                    edges[module].add(target)
            for path in re.findall(r"\bsuper((?:::[a-z_][a-z0-9_]*)+)", code):
                parts = path.split("::")[1:]
                target = resolve(module[:-1] + tuple(parts))
                if not related(module, target):
                    edges[module].add(target)
    cycles = set()

    def visit(node, stack):
        for next_module in edges.get(node, ()):
            if next_module in stack:
                cycle = stack[stack.index(next_module):]
                start = cycle.index(min(cycle))
                cycles.add(tuple(cycle[start:] + cycle[:start]))
            elif len(stack) < 12:
                visit(next_module, stack + [next_module])

    for module in edges:
        visit(module, [module])
    return sorted(cycles)


found = 0
for crate in CRATES:
    for cycle in crate_cycles(crate):
        found += 1
        print(f"{crate}: " + " -> ".join("::".join(m) or "crate" for m in cycle + (cycle[0],)))
print(f"module import cycles: {found}")
sys.exit(1 if found else 0)
