"""`python -m fo1_ros.cli ...`: the same as the `fo1-ros` command."""

import sys

from . import main

sys.exit(main())
