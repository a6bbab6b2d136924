#!/usr/bin/env python3
"""Request bodies held at once by `postern serve` (decisions H36).

Opens CONNECTIONS connections that each declare a body of SIZE bytes, send all of it but the last
MiB and then wait; reports the answers that came back, the server's resident memory, and whether
/v1/health is still answered meanwhile.

usage: bench/held_bodies.py PORT SERVER_PID [CONNECTIONS=100] [SIZE=16000000]
"""
import socket
import sys

MIB = 1 << 20


def resident_kb(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS"):
                return int(line.split()[1])
    return -1


def hold_body(port, size):
    conn = socket.create_connection(("127.0.0.1", port))
    conn.sendall(b"POST /v1/check HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                 b"Content-Length: %d\r\n\r\n" % size)
    piece = b" " * MIB
    sent = 0
    try:
        while sent < size - MIB:
            conn.sendall(piece)
            sent += len(piece)
    except OSError:
        pass  # answered and closed before the body was sent
    conn.settimeout(0.2)
    try:
        answer = conn.recv(300)
    except socket.timeout:
        answer = b""
    return conn, answer[9:12].decode() if answer else "held"


def main():
    port, pid = int(sys.argv[1]), sys.argv[2]
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 100
    size = int(sys.argv[4]) if len(sys.argv) > 4 else 16_000_000
    held, answers = [], {}
    for _ in range(count):
        conn, outcome = hold_body(port, size)
        held.append(conn)
        answers[outcome] = answers.get(outcome, 0) + 1
    probe = socket.create_connection(("127.0.0.1", port))
    probe.settimeout(10)
    probe.sendall(b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    health = probe.recv(200)[9:12].decode()
    print(f"{count} connections of {size} bytes: {answers}; server resident {resident_kb(pid)} kB; "
          f"/v1/health {health}")


if __name__ == "__main__":
    main()
