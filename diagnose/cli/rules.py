"""``diagnose rules``: the rule book as text (parsing and printing only).

diagnose rules                  every symptom and cause, by id, with its title
diagnose rules --explain ID     one symptom (parameters and their reasons, the causes it feeds)
                                or one cause (its prose, its replay, the symptoms behind it)
diagnose rules --markdown       every rule on one Markdown page (docs/rules.md)
"""

from __future__ import annotations

import argparse
from pathlib import Path

from diagnose.errors import EXIT_HEALTHY, UsageError


def parser(make: type[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    p = make(prog="diagnose rules", description="Show the rules diagnose judges a run by.")
    shown = p.add_mutually_exclusive_group()
    shown.add_argument("--explain", metavar="ID", help="one symptom or cause, in full")
    shown.add_argument("--markdown", action="store_true", help="every rule as one Markdown page")
    p.add_argument(
        "--rules", type=Path, action="append", default=[], help="extra rule file or folder"
    )
    p.add_argument("--debug", action="store_true", help="show tracebacks of tool errors")
    return p


def main(argv: list[str], make: type[argparse.ArgumentParser]) -> int:
    from diagnose.facade import rule_book
    from diagnose.rules.explain import UnknownRule, catalogue, explain

    options = parser(make).parse_args(argv)
    book = rule_book(options.rules)
    if options.markdown:
        print(catalogue(book), end="")
    elif options.explain:
        try:
            print(explain(book, options.explain))
        except UnknownRule:
            raise UsageError(
                f"no symptom or cause '{options.explain}' (diagnose rules lists them)"
            ) from None
    else:
        width = max(map(len, [*book.symptoms, *book.causes]))
        print("symptoms:")
        for symptom in sorted(book.symptoms.values(), key=lambda s: s.id):
            print(f"  {symptom.id:<{width}}  {symptom.title}")
        print("causes:")
        for cause in sorted(book.causes.values(), key=lambda c: c.id):
            print(f"  {cause.id:<{width}}  {cause.title}")
    return EXIT_HEALTHY
