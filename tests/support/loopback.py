"""What the benches that simulate thousands of gates on one machine share: each
gate's own loopback address, and the descriptor limit they may raise.

Every gate connecting from 127.0.0.1 to nginx's one port makes each connect()
search the kernel's ephemeral ports past the connections already held to that
address and port: 130 µs of system time per connect with 9,500 held, against
20 µs from an address per gate (docs/benchmarks.md, the load generator's term).
Real gates come from their own addresses."""

from __future__ import annotations

import ipaddress
import resource

FIRST_GATE_ADDRESS = int(ipaddress.IPv4Address("127.1.0.1"))


def gate_address(index: int, one_address: bool = False) -> tuple[str, int]:
    """The local address gate number `index` connects from (create_connection's
    local_addr): its own in 127.1.0.1 and up (all of 127/8 is loopback; 65,000
    gates stay in 127.1/16), or 127.0.0.1 for all with `one_address`."""
    if one_address:
        return ("127.0.0.1", 0)
    return (str(ipaddress.IPv4Address(FIRST_GATE_ADDRESS + index)), 0)


def raise_fd_limit(want: int) -> tuple[int, int]:
    """Raise this process's soft descriptor limit towards `want`, up to the hard
    limit (never the hard limit itself: even root may not raise it in a container):
    (soft, hard) as they are now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)
