"""`python -m jingzhi ...`: the same command as the `jingzhi` console script."""
import sys

from jingzhi.cli import main

sys.exit(main())
