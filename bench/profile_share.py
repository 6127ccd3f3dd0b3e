"""Shares of py-spy samples (the raw files `throughput.py --profile DIR` writes) whose
stack contains given frames; `A&B` means both. How the findings' percentages are read.

    python bench/profile_share.py DIR/<worker pid>.txt submit_task "submit_task&_accepted"
    python bench/profile_share.py DIR/<pid>.txt --top 40     # heaviest bridge frames"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path


def read_stacks(path: Path) -> list[tuple[str, int]]:
    """(semicolon-joined frames, sample count) per line."""
    stacks = []
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack:
            stacks.append((stack, int(count)))
    return stacks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile", type=Path)
    parser.add_argument("frames", nargs="*", help="substrings of frames; A&B = both")
    parser.add_argument("--top", type=int, default=0, help="also list the N heaviest bridge frames")
    args = parser.parse_args()
    stacks = read_stacks(args.profile)
    total = sum(count for _, count in stacks)
    print(f"{total} samples")
    for query in args.frames:
        terms = query.split("&")
        hits = sum(count for stack, count in stacks if all(t in stack for t in terms))
        print(f"{100 * hits / total:5.1f} %  {query}")
    if args.top:
        inclusive: Counter = Counter()
        for stack, count in stacks:
            # Line numbers dropped, each frame counted once per stack (inclusive time).
            names = {re.sub(r":\d+\)$", ")", f) for f in stack.split(";") if "bridge/" in f}
            inclusive.update({name: count for name in names})
        for name, count in inclusive.most_common(args.top):
            print(f"{100 * count / total:5.1f} %  {name}")


if __name__ == "__main__":
    main()
