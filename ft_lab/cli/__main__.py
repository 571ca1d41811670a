"""``python -m ft_lab.cli ...`` is the same as the ``ft-lab`` script."""
import sys

from . import main

sys.exit(main())
