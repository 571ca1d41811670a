"""The built-in plugins: one module per component kind, registered through the same hooks as
third-party plugins (datasette's pattern). ``ft_lab.core.plugins.DEFAULT_PLUGINS`` lists them."""
