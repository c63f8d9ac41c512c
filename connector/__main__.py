"""``python -m connector``: the same command line as ``connector``."""

import sys

from connector.cli import main

if __name__ == "__main__":
    sys.exit(main())
