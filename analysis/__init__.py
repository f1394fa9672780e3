"""Study-specific code that the demo study's specs name as ``analysis.<module>:<function>``."""
