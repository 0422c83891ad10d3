"""Deprecated path: ``handwritten_letters.line_reader`` moved to ``handwritten_letters.words.line_reader``.

Kept for one release so that code written against the old layout still runs; import from the
package's top level (``from handwritten_letters import ...``) or from the new module instead.
"""

import sys
import warnings

from .words import line_reader as _moved
from .words.line_reader import *  # noqa: F401,F403

warnings.warn("handwritten_letters.line_reader is deprecated: import from handwritten_letters or "
              "handwritten_letters.words.line_reader", DeprecationWarning, stacklevel=2)
sys.modules[__name__] = _moved  # the old name is the moved module itself: private names and patches reach it
