#!/usr/bin/python3
"""Mutation sweep: plants every small bug of one kind in one file, one at a
time, and says which ones its tests do not catch.

usage: tools/planted_faults/sweep.py FILE --tests=//a:t,//b:t [--tree=DIR]
           [--lines=FIRST:LAST] [--max=N] [--seed=S] [--skip=JSON] [--list]
           [--bazel=CMD] [--json=OUT] [--timeout=SECONDS]

Where catalogue.py holds bugs a person chose, this script makes them by
rule, the way mutation testing does: a comparison turned (`<` to `<=`, `==`
to `!=`), `&&` and `||` swapped, a `!` dropped, a small number made one
larger, a guard made never true (`if (x) {` to `if (false) {`). Each is
planted with plant.py's runner (the file put back on every exit), and the
tests named by --tests run. A survivor is a line no test holds: write the
test, or, where the edit changes nothing anyone could observe (a redundant
check, a message's wording), say so. Add the survivors worth keeping to
catalogue.py, with the rule they break, so that they stay caught.

Only operators with spaces on both sides are turned, so template brackets,
casts and shifts are left alone; comments, preprocessor lines and string
literals are never edited. An edit that does not build is skipped (a
compile error is not a bug). A mutant that makes a test hang is caught
when the test passes --timeout (120 s unless told).

A large file can be swept in parts: --max=N --seed=S plants a sample of N,
and a later --skip=JSON (the --json an earlier sweep wrote; comma-separated
for several) leaves out every mutant that sweep planted. A mutant is
matched by its line's text, the edit and the rule, not its line number, so
tests and fixes landed in between do not shift it.

Exit codes: 0 no mutant survived (or --list); 1 some survived; 2 a bad
flag, a missing file, or a file with changes of its own (one line says
which).

Example:
  tools/planted_faults/sweep.py core/abi/slot_decode.cc \\
      --tests=//core/abi:slot_decode_test --max=40
"""
import argparse
import json
import os
import random
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import plant  # noqa: E402

# (name, pattern, replacement). Operators need a space on each side.
_OPERATORS = [
    ("le_to_lt", r"(?<= )<=(?= )", "<"),
    ("ge_to_gt", r"(?<= )>=(?= )", ">"),
    ("lt_to_le", r"(?<= )<(?= )", "<="),
    ("gt_to_ge", r"(?<= )>(?= )", ">="),
    ("eq_to_ne", r"(?<= )==(?= )", "!="),
    ("ne_to_eq", r"(?<= )!=(?= )", "=="),
    ("and_to_or", r"(?<= )&&(?= )", "||"),
    ("or_to_and", r"(?<= )\|\|(?= )", "&&"),
    ("py_and_to_or", r"(?<= )and(?= )", "or"),
    ("py_or_to_and", r"(?<= )or(?= )", "and"),
    ("not_dropped", r"(?<=[ (])!(?=[\w(])", ""),
]
# Operators both languages spell alike; the rest are one language's.
_BOTH = {"le_to_lt", "ge_to_gt", "lt_to_le", "gt_to_ge", "eq_to_ne", "ne_to_eq"}
_NUMBER = re.compile(r"(?<![\w.])(\d{1,4})(?![\w.])")
_GUARD = re.compile(r"^(\s*(?:\} else )?if \()(.*)(\) (?:\{|return\b).*)$")
_PY_GUARD = re.compile(r"^(\s*(?:el)?if )(.*)(:\s*)$")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')


def _code_spans(line, is_python):
    """The parts of the line outside comments and string literals."""
    comment = "#" if is_python else "//"
    end = len(line)
    cut = line.find(comment)
    # A comment marker inside a string is not a comment.
    while cut != -1 and any(m.start() < cut < m.end() for m in _STRING.finditer(line)):
        cut = line.find(comment, cut + 1)
    if cut != -1:
        end = cut
    spans, pos = [], 0
    for m in _STRING.finditer(line[:end]):
        spans.append((pos, m.start()))
        pos = m.end()
    spans.append((pos, end))
    return spans


def _skipped(stripped, is_python):
    if not stripped:
        return True
    if is_python:
        return stripped.startswith(("#", "import ", "from ", '"""'))
    return stripped.startswith(("//", "#", "static_assert", "*", "/*"))


def mutants(text, is_python=False, first=1, last=None):
    """Every mutant of `text`, as (line number, rule name, old line, new line)."""
    out = []
    lines = text.splitlines()
    last = last or len(lines)
    opener, closer = ('"""', '"""') if is_python else ("/*", "*/")
    in_block = False  # inside a docstring or a block comment
    for number, line in enumerate(lines, start=1):
        was_in_block = in_block
        if is_python:
            in_block ^= line.count(opener) % 2 == 1
        elif in_block:
            in_block = closer not in line
        elif opener in line and closer not in line[line.find(opener):]:
            in_block = True
        if was_in_block or in_block or opener in line:
            continue
        if number < first or number > last or _skipped(line.strip(), is_python):
            continue
        spans = _code_spans(line, is_python)

        def inside(m):
            return any(a <= m.start() and m.end() <= b for a, b in spans)

        for name, pattern, replacement in _OPERATORS:
            if name not in _BOTH and name.startswith("py_") != is_python:
                continue
            for m in re.finditer(pattern, line):
                if inside(m):
                    out.append((number, name, line,
                                line[:m.start()] + replacement + line[m.end():]))
        for m in _NUMBER.finditer(line):
            if inside(m):
                out.append((number, "number_plus_one", line,
                            line[:m.start()] + str(int(m.group(1)) + 1) + line[m.end():]))
        guard = (_PY_GUARD if is_python else _GUARD).match(line)
        if guard and guard.group(2) not in ("false", "False", "true", "True"):
            never = "False" if is_python else "false"
            out.append((number, "guard_never_true", line,
                        guard.group(1) + never + guard.group(3)))
    return out


def as_fault(text, path, number, rule, old_line, new_line):
    """A catalogue-shaped fault whose `old` occurs once in `text`: the line,
    with as many lines before it as that takes."""
    lines = text.splitlines(keepends=True)
    start = number - 1
    while True:
        old = "".join(lines[start:number])
        new = "".join(lines[start:number - 1]) + new_line + (
            "\n" if lines[number - 1].endswith("\n") else "")
        if text.count(old) == 1 or start == 0:
            break
        start -= 1
    return {"name": "%s:%d:%s" % (os.path.basename(path), number, rule), "file": path,
            "old": old, "new": new, "rule": rule, "tests": [], "equivalent": None,
            "line": number, "old_line": old_line.strip(), "new_line": new_line.strip()}


def _key(mutant):
    """What names a mutant across edits elsewhere in its file."""
    _, rule, old_line, new_line = mutant
    return (old_line.strip(), new_line.strip(), rule)


def planted_before(paths):
    """What earlier sweeps' --json files planted: {_key(): [line, ...]}."""
    done = {}
    for path in paths:
        try:
            with open(path) as fh:
                results = json.load(fh)
            for r in results:
                done.setdefault((r["old"], r["new"], r["rule"]), []).append(int(r["line"]))
        except (OSError, ValueError, TypeError, KeyError) as e:
            raise plant.UsageError("--skip=%s: the --json an earlier sweep wrote (%s)"
                                   % (path, e))
    return done


def left_to_plant(found, done):
    """`found` less the mutants in `done`. A line that occurs more than once
    gives one mutant per place: each planted one takes the place nearest the
    line it had then, so each place is skipped once, whatever moved."""
    places = {}
    for m in found:
        places.setdefault(_key(m), []).append(m)
    taken = set()
    for key, lines in done.items():
        free = places.get(key, [])
        for line in lines:
            if not free:
                break
            nearest = min(free, key=lambda m: abs(m[0] - line))
            free.remove(nearest)
            taken.add(id(nearest))
    return [m for m in found if id(m) not in taken]


def parse_args(argv):
    parser = argparse.ArgumentParser(add_help=True)
    parser.add_argument("file")
    parser.add_argument("--tests", default="")
    parser.add_argument("--tree", default=os.path.dirname(os.path.dirname(HERE)))
    parser.add_argument("--lines", default="")
    parser.add_argument("--max", type=int, default=0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skip", default="")
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--bazel", default="bazel")
    parser.add_argument("--json", default="")
    parser.add_argument("--timeout", type=int, default=120)
    parser.error = lambda message: (_ for _ in ()).throw(plant.UsageError(message))
    args = parser.parse_args(argv)
    if not args.list and not args.tests:
        raise plant.UsageError("--tests: the test targets to run (//pkg:test,...), "
                               "or --list")
    if args.tests and not all(t.startswith("//") for t in args.tests.split(",")):
        raise plant.UsageError("--tests=%s: Bazel labels, //pkg:target, comma-separated"
                               % args.tests)
    if args.lines and not re.fullmatch(r"\d+:\d+", args.lines):
        raise plant.UsageError("--lines=%s: FIRST:LAST, line numbers" % args.lines)
    if args.timeout < 1:
        raise plant.UsageError("--timeout=%d: seconds a test may run, 1 or more" % args.timeout)
    if args.max < 0:
        raise plant.UsageError("--max=%d: 0 (all) or more" % args.max)
    return args


def main(argv):
    try:
        args = parse_args(argv)
        path = os.path.join(args.tree, args.file)
        if not os.path.isfile(path):
            raise plant.UsageError("%s: no such file under --tree=%s" % (args.file, args.tree))
        with open(path) as fh:
            text = fh.read()
        first, last = (int(x) for x in args.lines.split(":")) if args.lines else (1, None)
        found = mutants(text, args.file.endswith(".py"), first, last)
        if args.skip:
            found = left_to_plant(found, planted_before(args.skip.split(",")))
        if args.max:
            random.Random(args.seed).shuffle(found)
            found = sorted(found[:args.max])
        faults = [as_fault(text, args.file, *m) for m in found]
        if args.list:
            for f in faults:
                print("%d  %s  ->  %s" % (f["line"], f["old_line"], f["new_line"]))
            return 0
        plant.check_clean(args.tree, [{"file": args.file}])
    except plant.UsageError as e:
        print("sweep.py: %s" % e, file=sys.stderr)
        return 2
    results = []
    start = time.time()
    for f in faults:
        res = plant.plant_one(args.tree, f, args.tests.split(","), args.bazel,
                              ["--test_timeout=%d" % args.timeout])
        res.update(line=f["line"], old=f["old_line"], new=f["new_line"], rule=f["rule"])
        results.append(res)
        outcome = {"caught": "caught by " + ", ".join(res.get("failed", [])),
                   "survived": "SURVIVED",
                   "error": "does not build (skipped)"}[res["outcome"]]
        print("%s:%d  %s  ->  %s  %s" % (args.file, f["line"], f["old_line"],
                                         f["new_line"], outcome), flush=True)
    survived = [r for r in results if r["outcome"] == "survived"]
    print("%d planted in %.0f s: %d caught, %d survived, %d did not build"
          % (len(results), time.time() - start,
             sum(r["outcome"] == "caught" for r in results), len(survived),
             sum(r["outcome"] == "error" for r in results)))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=1)
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
