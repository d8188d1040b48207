"""``python -m tests.broken_target --profile P --port N --break KIND[,KIND...]``."""

import sys

from tests.broken_target.serve import main

sys.exit(main())
