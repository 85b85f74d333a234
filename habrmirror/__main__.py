import sys

from habrmirror.cli import main

sys.exit(main())
