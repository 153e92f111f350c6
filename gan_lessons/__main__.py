"""Entry point of ``python -m gan_lessons``."""

import sys

from gan_lessons.cli import main

sys.exit(main())
