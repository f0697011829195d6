"""`python -m hubsim`: the simulator without the portal's settings."""

from __future__ import annotations

import logging
import sys
from argparse import ArgumentParser

from hubsim.cli import DESCRIPTION, UsageError, add_arguments, run


def main() -> int:
    parser = ArgumentParser(prog="python -m hubsim", description=DESCRIPTION)
    add_arguments(parser)
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        run(vars(parser.parse_args()), sys.stdout)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
