"""The lifecycle matrix: every process model started for real, every event handled exactly once.

Each test starts a server, a command or a script in a subprocess (``project`` and ``programs``),
makes it dispatch events with unique ids and counts, from the files that ``records`` writes, that
each id was handled once, that nothing hung, and where threads come and go that the process's
open file descriptors stay flat.
"""
