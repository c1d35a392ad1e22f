"""Business logic: views, admin actions, commands and tasks call these, never the models directly."""
