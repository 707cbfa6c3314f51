"""``python -m tests.reliability.server``: run as a package's ``__main__``, as ``python -m app``
is, so that multiprocessing does not import the server again in each file reader it starts."""

from tests.reliability.server import main

main()
