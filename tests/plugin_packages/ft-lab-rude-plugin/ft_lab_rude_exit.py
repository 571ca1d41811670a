"""A plugin that ends the process when imported, as a script-style module would."""
import sys

sys.exit("this plugin calls sys.exit() at import")
