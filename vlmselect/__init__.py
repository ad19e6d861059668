"""vlmselect: choose a vision-language model for your hardware and task, then get it running."""

__version__ = "0.1.0"
