"""FerroMQ client: producers, consumers, transactions and admin over the Rust client core.

The classes live in the extension module `ferromq._ferromq`; this package re-exports every
public name, so `import ferromq` is the whole client API (typed in `__init__.pyi`).
`ferromq.testing` (imported on demand) starts real servers for tests.
"""

from ferromq._ferromq import *  # noqa: F401,F403
from ferromq._ferromq import __version__  # noqa: F401
# Hooks the extension and the test suite use; not part of the API.
from ferromq._ferromq import _complete, _error_for_code  # noqa: F401
