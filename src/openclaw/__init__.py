"""openclaw: connect an assistant to models served by LM Studio and other local servers."""

__version__ = "0.1.0"
