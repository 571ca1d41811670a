"""The core contract: the recipe and its sections, typed configs, component base classes, the plugin
registry and its hook specs. Knows nothing of run directories, training, widgets or Jupyter."""
