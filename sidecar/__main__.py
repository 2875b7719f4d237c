"""Entry point of the syncer sidecar (`kcd-syncer`)."""

import sys


def main() -> None:
    sys.stderr.write("kcd-syncer: the syncer is not built yet (issue 4)\n")
    sys.exit(1)


if __name__ == "__main__":
    main()
