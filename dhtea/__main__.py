import sys

from dhtea.cli.main import main

sys.exit(main())
