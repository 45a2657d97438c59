import sys

from dhtea.cli import main

sys.exit(main())
