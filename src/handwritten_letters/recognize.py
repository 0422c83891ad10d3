"""Deprecated path: ``handwritten_letters.recognize`` moved to ``handwritten_letters.reading.recognize``.

Kept for one release so that code written against the old layout still runs; import from the
package's top level (``from handwritten_letters import ...``) or from the new module instead.
"""

import sys
import warnings

from .reading import recognize as _moved
from .reading.recognize import *  # noqa: F401,F403

warnings.warn("handwritten_letters.recognize is deprecated: import from handwritten_letters or "
              "handwritten_letters.reading.recognize", DeprecationWarning, stacklevel=2)
sys.modules[__name__] = _moved  # the old name is the moved module itself: private names and patches reach it
