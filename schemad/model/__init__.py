"""The pure schema model: dataclasses that render canonical DDL; no I/O."""
