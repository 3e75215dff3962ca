"""The ``fo1-ros`` command: parse, print the configuration, call the library.

    fo1-ros demo [--out ./fo1_demo]          synthetic RGB-D bag -> shipped model -> report
    fo1-ros process BAG --out OUT            run the node logic over a ROS 2 bag (no ROS needed)
    fo1-ros run [ROS ARGS]                   the rclpy node (needs the colcon build sourced)
    fo1-ros ask IMAGE --task detect --query "red cube"   one image, one task, printed
    fo1-ros check                            load the model, run it on a synthetic scene, timings
    fo1-ros train ... / fo1-ros eval ...     the trainer / the evaluation (fo1_ros.train, .eval)

Only this package prints; everything else logs. One module per subcommand (`demo`, `process`,
`run`, `ask`, `check`, `train`, `eval`), each with `add_parser(subparsers)` and `command(args)`;
`common` holds what several share. Libraries that load torch are imported by the command that
needs them, so `fo1-ros --help` stays instant.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import ask, check, demo, process, run
from . import eval as eval_command
from . import train as train_command
from .common import setup_logging

SUBCOMMANDS = (demo, process, run, ask, check, train_command, eval_command)


def build_parser() -> argparse.ArgumentParser:
    """The whole command line: global flags and one subparser per subcommand."""
    parser = argparse.ArgumentParser(prog="fo1-ros", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n")[1])
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv: debug)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in SUBCOMMANDS:
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    if rest and args.command != "run":  # only `run` passes arguments on (to ROS)
        parser.error(f"unrecognised arguments: {' '.join(rest)}")
    setup_logging(args.verbose)
    if args.command == "run":
        return run.command(args, rest)
    return int(args.handler(args) or 0)

