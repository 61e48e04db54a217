"""
A deterministic simulation of several Inkroom processes, their channel layer, the op log and
many clients, driven by one seeded RNG and a virtual clock (no sockets, no sleeps, no threads).

`python -m tests.sim --seeds 0-1999` runs seeds and checks the invariants after each; a failing
seed prints the one-line command that replays it. See docs/architecture.md, "The simulation".
"""
