"""Built-in plugins (registered from an explicit list by the plugin manager)."""
