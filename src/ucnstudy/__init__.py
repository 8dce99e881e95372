"""ucnstudy: user-centric network measurement studies, from raw captures to answers."""

__version__ = "0.1.0"

from ucnstudy.store import Study, open_study  # noqa: E402

open = open_study  # noqa: A001  (ucnstudy.open(url), as documented)

__all__ = ["Study", "__version__", "open", "open_study"]
