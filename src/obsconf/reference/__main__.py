"""``python -m obsconf.reference --profile NAME --port P``."""

import sys

from obsconf.reference.serve import main

sys.exit(main())
