"""ucnstudy: user-centric network measurement studies, from raw captures to answers."""

__version__ = "0.1.0"

from ucnstudy.store import Study, open_study

open = open_study

__all__ = ["Study", "__version__", "open", "open_study"]
