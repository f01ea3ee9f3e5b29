"""Model families. Each family is a package: its ``__init__`` holds the configs and registrations (no torch), its
``model`` module the networks and the training and sampling code."""
