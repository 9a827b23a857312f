"""`python -m schemad`."""

import sys

from schemad.cli.main import main

sys.exit(main())
