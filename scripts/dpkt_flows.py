#!/usr/bin/python3
"""Baseline for scripts/bench_ingest.sh: per-flow grouping of a pcap the way the FlowPic authors'
TrafficParser/generic_parser.py does it (dpkt, one dict entry per unidirectional 5-tuple holding
relative times and IP lengths). Prints the packet and flow counts.

usage: dpkt_flows.py CAPTURE.pcap
"""
import socket
import sys

import dpkt


def addr(b):
    return socket.inet_ntop(socket.AF_INET6 if len(b) == 16 else socket.AF_INET, b)


def main(path):
    sessions = {}
    packets = 0
    with open(path, "rb") as f:
        for ts, buf in dpkt.pcap.Reader(f):
            try:
                eth = dpkt.ethernet.Ethernet(buf)
            except dpkt.dpkt.NeedData:
                continue
            ip = eth.data
            if not isinstance(ip, (dpkt.ip.IP, dpkt.ip6.IP6)):
                continue
            l4 = ip.data
            if isinstance(l4, dpkt.tcp.TCP):
                proto = "TCP"
            elif isinstance(l4, dpkt.udp.UDP):
                proto = "UDP"
            else:
                continue
            key = (addr(ip.src), l4.sport, addr(ip.dst), l4.dport, proto)
            d = sessions.setdefault(key, (ts, [], []))
            d[1].append(round(ts - d[0], 6))
            d[2].append(len(ip))
            packets += 1
    print("%s: %d packets in %d unidirectional flows" % (path, packets, len(sessions)))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
