"""The ``aws`` a block finds on PATH when a zygote runs AWS CLI v1 (``aws_zygote.py``): a thin client.

Run as ``python -I -S aws_zygote_client.py SOCKET AWS_SCRIPT ARG...``. It hands the zygote its
standard input, output and error (the file descriptors themselves), its arguments, environment,
working directory, umask and ignored signals, waits for the forked CLI to end and ends the same
way: the same exit code, or killed by the same signal. A signal it is sent meanwhile is passed
on to that CLI.

It imports only modules built into the interpreter (``posix``, ``_socket``, ``_signal``): it
runs once per ``aws`` command, and ``os``, ``socket``, ``signal`` and ``json`` would cost more
than the rest of it (they pull in ``enum``, ``re``, ``selectors``...).

Where the zygote cannot answer as the CLI itself would (no zygote listening or it drops the
request, a ``PYTHON*`` variable that changes how the CLI's interpreter starts, a standard stream
that is closed), it runs ``AWS_SCRIPT`` itself instead: slower, never different.
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # built in, without stubs
import _socket
import posix
import sys

#: Signals passed on to the CLI; the ones the caller ignores stay ignored, here and there.
FORWARDED = (_signal.SIGINT, _signal.SIGTERM, _signal.SIGHUP, _signal.SIGQUIT)
#: Every number on the socket is a 4-byte big-endian signed int (aws_zygote.STATUS).
INT_BYTES = 4


def run_directly(script: str, args: list[str]) -> None:
    """Become the CLI itself, as if the shell had found ``script`` on PATH (does not return)."""
    posix.execv(script, [script, *args])


def request(args: list[str]) -> bytes:
    """The command as aws_zygote.parse reads it: NUL-separated fields behind their length.

    The folder, the umask, the ignored signals, the number of arguments, the arguments, then the
    environment's ``NAME=value`` entries, all as the bytes the process has (none holds a NUL)."""
    umask = posix.umask(0)
    posix.umask(umask)
    ignored = ",".join(str(int(sig)) for sig in FORWARDED if _signal.getsignal(sig) == _signal.SIG_IGN)
    fields = [posix.getcwd().encode("utf-8", "surrogateescape"), str(umask).encode(), ignored.encode(),
              str(len(args)).encode(), *(arg.encode("utf-8", "surrogateescape") for arg in args),
              *(name + b"=" + value for name, value in posix.environ.items())]
    body = b"\0".join(fields)
    return len(body).to_bytes(INT_BYTES, "big", signed=True) + body


def receive_int(conn: _socket.socket) -> int | None:
    """One number from the zygote, or None when it closed the connection first."""
    data = b""
    while len(data) < INT_BYTES:
        chunk = conn.recv(INT_BYTES - len(data))
        if not chunk:
            return None
        data += chunk
    return int.from_bytes(data, "big", signed=True)


def main(argv: list[str]) -> None:
    """Run the CLI through the zygote at ``argv[0]`` (the real script is ``argv[1]``)."""
    socket_path, script, args = argv[0], argv[1], argv[2:]
    if any(name.startswith(b"PYTHON") for name in posix.environ):
        return run_directly(script, args)
    try:
        for fd in (0, 1, 2):
            posix.fstat(fd)
        conn = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        conn.connect(socket_path)
    except OSError:
        return run_directly(script, args)
    payload = request(args)
    # Caught from before the CLI starts: one that comes before its pid is known is passed on after.
    child: list[int] = []
    pending: list[int] = []

    def forward(signum: int, _frame: object) -> None:
        if not child:
            pending.append(signum)
            return
        try:
            posix.kill(child[0], signum)
        except OSError:  # it has just ended
            pass

    for sig in FORWARDED:
        if _signal.getsignal(sig) != _signal.SIG_IGN:
            _signal.signal(sig, forward)
    fds = b"".join(fd.to_bytes(INT_BYTES, sys.byteorder) for fd in (0, 1, 2))
    sent = conn.sendmsg([payload], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, fds)])
    conn.sendall(payload[sent:])
    pid = receive_int(conn)
    if pid is None:  # the zygote dropped the request before starting anything
        return run_directly(script, args)
    child.append(pid)
    for signum in pending:
        forward(signum, None)
    code = receive_int(conn)
    if code is None:
        sys.exit("aws (zygote client): the zygote closed the connection before the CLI ended")
    if code < 0:  # killed by signal -code: die of it too, so the shell sees what it would have
        _signal.signal(-code, _signal.SIG_DFL)
        posix.kill(posix.getpid(), -code)
        code = 128 - code
    posix._exit(code)


if __name__ == "__main__":
    main(sys.argv[1:])
