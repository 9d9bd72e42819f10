import sys

from hf_aidetect.cli import main

sys.exit(main())
