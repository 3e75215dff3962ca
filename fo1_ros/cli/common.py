"""What several subcommands share: logging set-up, the node configuration from --params / -p /
flags, the flags that pick a model or configure the node, and printing results."""

from __future__ import annotations

import argparse
import logging
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:  # the node loads torch and the engine: imported when a command runs
    from ..node import NodeConfig


def setup_logging(verbose: int) -> None:
    """WARNING by default, INFO with -v, DEBUG with -vv."""
    level = logging.WARNING if verbose <= 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    # the node's per-frame warnings stay visible: they name dropped or degraded input
    logging.getLogger("fo1_ros.node").setLevel(min(level, logging.WARNING))


def model_flags(p: argparse.ArgumentParser) -> None:
    """--model, --device."""
    p.add_argument("--model", dest="model_path", default=None,
                   help="VLM-FO1 model folder (default: the shipped model)")
    p.add_argument("--device", default=None, help="auto | cpu | cuda:0 (default: auto)")


def node_flags(p: argparse.ArgumentParser) -> None:
    """model_flags plus the node's parameters (--params, -p, --queries) and bag output flags."""
    model_flags(p)
    p.add_argument("--params", help="ROS 2 parameter file (e.g. config/perception.yaml)")
    p.add_argument("-p", "--param", action="append", metavar="KEY=VALUE",
                   help="one node parameter (repeatable), e.g. -p caption_rate_hz=0.5")
    p.add_argument("--queries", nargs="+", metavar="LABEL", help="the query vocabulary")
    p.add_argument("--storage", choices=("mcap", "sqlite3"), default="mcap",
                   help="storage of the bags written (default mcap)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def node_config(args: argparse.Namespace, **fixed: Any) -> NodeConfig:
    """NodeConfig from --params (a ROS parameter file), then -p key=value, then the flags."""
    from ..node import NodeConfig, load_params_file  # loads torch: `fo1-ros --help` stays fast

    data: dict[str, Any] = {}
    if getattr(args, "params", None):
        data.update(load_params_file(args.params))
    for item in getattr(args, "param", None) or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"fo1-ros: -p expects key=value, got {item!r}")
        data[key.strip()] = yaml_value(value)
    for key in ("model_path", "device", "queries"):
        value = getattr(args, key, None)
        if value not in (None, []):
            data[key] = value
    data.update(fixed)
    try:
        return NodeConfig.from_dict(data)
    except (TypeError, ValueError) as e:
        raise SystemExit(f"fo1-ros: bad parameters: {e}") from e


def yaml_value(text: str) -> Any:
    """A -p value read as YAML (numbers, lists, booleans), or the text itself."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def print_config(config: NodeConfig) -> None:
    """The node parameters a user most often sets, on one line."""
    data = config.to_dict()
    shown = {k: data[k] for k in ("model_path", "device", "proposal_source", "queries",
                                  "count_mode", "caption_rate_hz", "max_regions")}
    shown["model_path"] = shown["model_path"] or "(shipped model)"
    print("config: " + ", ".join(f"{k}={v}" for k, v in shown.items()))


def fmt_det(d: dict) -> str:
    """One detection of a frame summary: 'cube (region 3, 0.87 at 1.20 m)'."""
    where = f" at {d['center_3d'][2]:.2f} m" if "center_3d" in d else ""
    return f"{d['label']} (region {d['region']}, {d['score']:.2f}{where})"
