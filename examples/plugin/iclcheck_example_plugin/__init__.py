"""An example iclcheck plugin (docs/plugins.md): its claims live in ``iclcheck_example_plugin.claims``."""
