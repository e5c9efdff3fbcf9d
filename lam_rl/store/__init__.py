"""The shared Arrow trajectory store (Lance datasets): the only way data moves between phases."""
