"""Allow ``python -m labdesk``."""

from labdesk.cli import main

if __name__ == "__main__":
    main()
