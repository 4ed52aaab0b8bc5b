"""AWS CLI v1 that starts once per test process and forks for each command: a "zygote".

Nearly all of an ``aws`` command's CPU time is the CLI starting (importing ``awscli``,
botocore and the CLI's customizations), not the request, and the handoff tests run hundreds of
commands. The zygote is a process of the CLI's own interpreter that imports all of that once,
listens on a Unix socket and, for each command, forks a child that takes over the caller's
standard streams (the file descriptors, passed over the socket), arguments, environment (all of
it, replacing its own), working directory, umask and ignored signals, and runs the ``aws``
script as that script runs itself. Its parent reaps the child and answers with the exit status.
The ``aws`` a block finds on PATH is a thin client (``aws_zygote_client.py``).

Nothing the CLI reads from the environment is created before the fork: no botocore session,
no client, no search path. What importing the CLI itself takes from the environment is put right in
each child: ``AWS_DATA_PATH`` is worked out again as ``awscli/__init__.py`` does, and values
the imports derived from the zygote's home or working directory (``~/.aws/models``, cache
folders, default arguments) are moved to the caller's. Any other variable the imports read
that the caller has set differently makes that child run the CLI from scratch (``exec``), as
does a locale that is not UTF-8: the output is then the same, only slower.

What is left of a command's start is mostly parsing the CLI's JSON data (endpoints.json, the
service's model); the zygote parses each file of the CLI's installation that a child has
parsed, and hands the parse to later children that read the same text (``ParsedData``).

The test side (``path_for``, ``stop``) starts one zygote per test process (per xdist worker)
on first use, in a temporary folder of its own, and stops it at the end of the session; an
``aws`` whose interpreter cannot import ``awscli.clidriver`` (AWS CLI v2 is a binary) is run
directly. This file is also the zygote itself, run by the CLI's interpreter: stdlib only.
"""

from __future__ import annotations

import contextlib
import io
import locale
import os
import re
import selectors
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CLIENT = Path(__file__).with_name("aws_zygote_client.py")
#: What the zygote imports before it forks: the CLI and the customizations every command loads.
PRELOAD = ("awscli.clidriver", "awscli.handlers")
#: Exit code of a zygote whose interpreter cannot import the CLI (the caller then runs ``aws`` itself).
CANNOT_IMPORT = 3
READY = b"ready\n"
STATUS = struct.Struct("!i")
#: Variables the imports read whose value each child puts right itself (see ``Child.apply``).
REDERIVED = frozenset({"HOME", "AWS_DATA_PATH"})
#: pip writes this instead of a ``#!`` line when the interpreter's path is too long for one.
PIP_SH_SHEBANG = re.compile(r"^'''exec' (\S+) \"\$0\" \"\$@\"$", re.MULTILINE)


# --- the zygote (run by the AWS CLI's interpreter) ---------------------------------------------------------------


@dataclass
class ImportFootprint:
    """What importing the CLI took from the process: the variables it read and the ones it set."""

    read: dict[str, str | None] = field(default_factory=dict)
    written: set[str] = field(default_factory=set)
    read_everything: bool = False

    @contextlib.contextmanager
    def recording(self) -> Iterator[None]:
        """Record ``os.environ`` reads (the value before any write) and writes while the block runs."""
        environ_type = type(os.environ)
        getitem, setitem, iterate = environ_type.__getitem__, environ_type.__setitem__, environ_type.__iter__

        def read(environ: Any, key: str) -> Any:
            if environ is os.environ and key not in self.read and key not in self.written:
                try:
                    self.read[key] = getitem(environ, key)
                except KeyError:
                    self.read[key] = None
            return getitem(environ, key)

        def write(environ: Any, key: str, value: str) -> None:
            if environ is os.environ:
                self.written.add(key)
            setitem(environ, key, value)

        def every(environ: Any) -> Iterator[str]:
            if environ is os.environ:
                self.read_everything = True
            return iterate(environ)

        environ_type.__getitem__, environ_type.__setitem__, environ_type.__iter__ = read, write, every  # type: ignore[method-assign]
        try:
            yield
        finally:
            environ_type.__getitem__, environ_type.__setitem__, environ_type.__iter__ = getitem, setitem, iterate  # type: ignore[method-assign]


@dataclass(frozen=True)
class Rebase:
    """Paths the imports derived from the folder ``old``, and how to move each under another folder."""

    old: str
    moves: tuple[Callable[[str], None], ...]

    @classmethod
    def find(cls, old: str) -> Rebase:
        """Every string that module globals, class attributes and default arguments hold that is
        ``old`` or under it (found once, in the zygote, before any fork)."""
        moves: list[Callable[[str], None]] = []

        def under(value: object) -> str | None:
            """The rest of ``value`` after ``old``, or None for a value not under it."""
            if isinstance(value, str) and (value == old or value.startswith(old + os.sep)):
                return value[len(old):]
            return None

        def attribute(owner: object, name: str, rest: str) -> None:
            moves.append(lambda new: setattr(owner, name, new + rest))

        def positional(function: types.FunctionType, index: int, rest: str) -> None:
            def move(new: str) -> None:
                values = list(function.__defaults__ or ())
                values[index] = new + rest
                function.__defaults__ = tuple(values)
            moves.append(move)

        def keyword(defaults: dict[str, Any], name: str, rest: str) -> None:
            moves.append(lambda new: defaults.__setitem__(name, new + rest))

        def arguments(function: types.FunctionType) -> None:
            for index, value in enumerate(function.__defaults__ or ()):
                if (rest := under(value)) is not None:
                    positional(function, index, rest)
            keywords = function.__kwdefaults__ or {}
            for name, value in keywords.items():
                if (rest := under(value)) is not None:
                    keyword(keywords, name, rest)

        for module in list(sys.modules.values()):
            if not isinstance(module, types.ModuleType):
                continue
            for name, value in list(vars(module).items()):
                if (rest := under(value)) is not None:
                    attribute(module, name, rest)
                elif isinstance(value, types.FunctionType) and value.__module__ == module.__name__:
                    arguments(value)
                elif isinstance(value, type) and value.__module__ == module.__name__:
                    for member, held in list(vars(value).items()):
                        if (rest := under(held)) is not None:
                            attribute(value, member, rest)
                        elif isinstance(held, (staticmethod, classmethod)):
                            held = held.__func__
                        if isinstance(held, types.FunctionType):
                            arguments(held)
        return cls(old, tuple(moves))

    def to(self, new: str) -> None:
        """Move every path found from under ``old`` to under ``new``."""
        if new != self.old:
            for move in self.moves:
                move(new)


class ParsedData:
    """The JSON data files of the CLI's installation (service models, endpoints.json), parsed in the
    zygote: a child that reads the very same text gets that parse instead of parsing it again.

    Stands in for the ``json`` module of ``botocore.loaders``. Each parse is handed out at most
    once per child, so every load still returns an object of its own, as parsing does; any other
    text is parsed as usual. Which files to parse is learnt from the children: a child that parses
    a file of the installation writes its path to a pipe, and the zygote parses that file for the
    children after it. Files under HOME or ``AWS_DATA_PATH`` are never parsed ahead.
    """

    def __init__(self, loaders: types.ModuleType, installed: str) -> None:
        self.loaders, self.json, self.installed = loaders, loaders.json, installed + os.sep
        self.parsed: dict[tuple[str, tuple[tuple[str, Any], ...]], Any] = {}
        self.handed: set[tuple[str, tuple[tuple[str, Any], ...]]] = set()
        self.reading: str | None = None  # the file botocore is loading now
        self.recording = False  # in the zygote: keep the parse
        self.learnt: set[str] = set()
        self.learn_r, self.learn_w = os.pipe()
        os.set_blocking(self.learn_r, False)
        os.set_blocking(self.learn_w, False)
        load_file = loaders.JSONFileLoader._load_file

        def reading(loader: Any, full_path: str, open_method: Any) -> Any:
            self.reading = full_path
            try:
                return load_file(loader, full_path, open_method)
            finally:
                self.reading = None

        self.load_file = load_file
        loaders.JSONFileLoader._load_file = reading
        setattr(loaders, "json", self)  # noqa: B010 - a module attribute mypy does not know

    @classmethod
    def install(cls) -> ParsedData | None:
        """Stand in for ``botocore.loaders``' json, where that module loads files as this expects."""
        loaders = sys.modules.get("botocore.loaders")
        if loaders is None or not hasattr(getattr(loaders, "JSONFileLoader", None), "_load_file") \
                or not isinstance(getattr(loaders, "_JSON_OPEN_METHODS", None), dict):
            return None
        return cls(loaders, os.path.dirname(os.path.realpath(sys.modules["awscli"].__file__ or "")))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.json, name)

    def loads(self, text: str, **options: Any) -> Any:
        """``json.loads``, or the zygote's parse of the same text (the first time in this child)."""
        key = (text, tuple(sorted(options.items())))
        if key in self.parsed and key not in self.handed:
            self.handed.add(key)
            return self.parsed[key]
        data = self.json.loads(text, **options)
        if self.recording:
            self.parsed[key] = data
        elif self.reading and os.path.realpath(self.reading).startswith(self.installed):
            with contextlib.suppress(OSError):  # best effort: a full pipe only means no parse ahead
                os.write(self.learn_w, os.fsencode(self.reading) + b"\n")
        return data

    def learn(self) -> None:
        """In the zygote: parse each file the children have named, as botocore's loader parses it."""
        named = b""
        with contextlib.suppress(BlockingIOError):
            while chunk := os.read(self.learn_r, 65536):
                named += chunk
        for path in {os.fsdecode(line) for line in named.split(b"\n") if line} - self.learnt:
            self.learnt.add(path)
            opener = next((method for ext, method in self.loaders._JSON_OPEN_METHODS.items() if path.endswith(ext)),
                          None)
            if opener is None:
                continue
            self.recording = True
            try:
                self.load_file(self.loaders.JSONFileLoader(), path, opener)
            except (OSError, ValueError) as error:
                print(f"aws_zygote: cannot parse {path} ahead: {error}", file=sys.stderr, flush=True)
            finally:
                self.recording = False


@dataclass(frozen=True)
class Request:
    """One command as the client sent it, and the standard streams it passed."""

    fds: list[int]
    cwd: str
    umask: int
    ignored: list[int]
    args: list[str]
    env: dict[bytes, bytes]

    @classmethod
    def parse(cls, fds: list[int], body: bytes) -> Request:
        """Read what aws_zygote_client.request wrote."""
        cwd, umask, ignored, count, *rest = body.split(b"\0")
        args, entries = rest[:int(count)], rest[int(count):]
        env = dict(entry.split(b"=", 1) for entry in entries if entry)
        return cls(fds, os.fsdecode(cwd), int(umask), [int(sig) for sig in ignored.split(b",") if sig],
                   [os.fsdecode(arg) for arg in args], env)


def receive(conn: socket.socket) -> Request:
    """Read one request: the client sends its three standard streams with the first bytes."""
    data, fds, _, _ = socket.recv_fds(conn, 65536, 3)
    try:
        if len(fds) != 3 or len(data) < STATUS.size:
            raise OSError("not a request from aws_zygote_client.py")
        size = STATUS.unpack(data[:STATUS.size])[0]
        body = data[STATUS.size:]
        while len(body) < size:
            chunk = conn.recv(size - len(body))
            if not chunk:
                raise OSError("the client went away mid-request")
            body += chunk
        return Request.parse(fds, body)
    except (OSError, ValueError):
        for fd in fds:
            os.close(fd)
        raise


class Zygote:
    """The listening side: accept, fork, reap, answer."""

    def __init__(self, socket_path: str, watched_fd: int, parsed: ParsedData | None) -> None:
        self.selector = selectors.DefaultSelector()
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        # Bound under another name and renamed once listening: a client that finds the path can connect.
        self.listener.bind(socket_path + ".new")
        self.listener.listen(64)
        os.rename(socket_path + ".new", socket_path)
        self.children: dict[int, socket.socket] = {}
        self.wakeup_r, self.wakeup_w = os.pipe()
        os.set_blocking(self.wakeup_r, False)
        os.set_blocking(self.wakeup_w, False)
        signal.set_wakeup_fd(self.wakeup_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)  # wakes select through the wakeup fd
        self.watched_fd = watched_fd
        self.selector.register(self.listener, selectors.EVENT_READ, "accept")
        self.selector.register(self.wakeup_r, selectors.EVENT_READ, "reap")
        self.selector.register(watched_fd, selectors.EVENT_READ, "parent")
        self.parsed = parsed
        if parsed is not None:
            self.selector.register(parsed.learn_r, selectors.EVENT_READ, "learn")

    def serve(self) -> Request | None:
        """Serve until the test process goes away (None), or return in a forked child with its request."""
        while True:
            for key, _ in self.selector.select():
                if key.data == "accept":
                    if (request := self.accept()) is not None:
                        return request
                elif key.data == "reap":
                    self.reap()
                elif key.data == "parent":
                    return None
                elif key.data == "learn":
                    assert self.parsed is not None
                    self.parsed.learn()
                else:  # the client hung up (or sent more) before its CLI ended: end that CLI too
                    self.selector.unregister(key.fileobj)
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(key.data, signal.SIGTERM)

    def accept(self) -> Request | None:
        """Fork a child for the next request; in the child, return the request."""
        conn, _ = self.listener.accept()
        conn.settimeout(30)
        try:
            request = receive(conn)
        except (OSError, ValueError) as error:
            print(f"aws_zygote: dropped a request: {error}", file=sys.stderr, flush=True)
            conn.close()
            return None
        try:
            pid = os.fork()
        except OSError as error:  # the client, told nothing, runs the CLI itself
            print(f"aws_zygote: cannot fork: {error}", file=sys.stderr, flush=True)
            for fd in request.fds:
                os.close(fd)
            conn.close()
            return None
        if pid == 0:
            self.close_in_child(conn)
            return request
        for fd in request.fds:
            os.close(fd)
        self.children[pid] = conn
        with contextlib.suppress(OSError):
            conn.sendall(STATUS.pack(pid))
        self.selector.register(conn, selectors.EVENT_READ, pid)
        return None

    def reap(self) -> None:
        """Answer each ended child's client with its exit status (negative: the signal that killed it)."""
        with contextlib.suppress(BlockingIOError):
            while os.read(self.wakeup_r, 512):
                pass
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            conn = self.children.pop(pid, None)
            if conn is None:
                continue
            with contextlib.suppress(KeyError, ValueError):
                self.selector.unregister(conn)
            with contextlib.suppress(OSError):
                conn.sendall(STATUS.pack(os.waitstatus_to_exitcode(status)))
            conn.close()

    def close_in_child(self, conn: socket.socket) -> None:
        """A child keeps nothing of the zygote's: no socket, no selector, no signal plumbing."""
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        self.selector.close()
        self.listener.close()
        for other in self.children.values():
            other.close()
        conn.close()
        for fd in (self.wakeup_r, self.wakeup_w, self.watched_fd):
            os.close(fd)
        if self.parsed is not None:  # the child keeps the write end: it names the files it parses
            os.close(self.parsed.learn_r)


def aws_data_path(env: dict[str, str]) -> str:
    """``AWS_DATA_PATH`` as ``awscli/__init__.py`` sets it when imported with ``env``: the caller's
    paths, expanded, then the CLI's own data folder."""
    import awscli  # type: ignore[import-not-found]  # the CLI's interpreter has it, the tests' has not

    paths = [os.path.expanduser(os.path.expandvars(path)) for path in env["AWS_DATA_PATH"].split(os.pathsep)] \
        if "AWS_DATA_PATH" in env else []
    paths.append(os.path.join(os.path.dirname(os.path.abspath(awscli.__file__)), "data"))
    return os.pathsep.join(paths)


def standard_stream(fd: int, writing: bool, errors: str) -> io.TextIOWrapper | None:
    """A standard stream as Python makes it at start-up with a UTF-8 locale (None for a closed fd)."""
    try:
        tty = os.isatty(fd)
        buffer = open(fd, "wb" if writing else "rb", closefd=False)  # lives as long as the process
    except OSError:
        return None
    return io.TextIOWrapper(buffer, encoding="utf-8", errors=errors, newline="\n",
                            line_buffering=tty or fd == 2)


def become(request: Request, script: str, interpreter: str, footprint: ImportFootprint,
           rebases: list[tuple[Rebase, Callable[[dict[str, str]], str]]]) -> None:
    """In a forked child: take on the caller's streams, folder and environment; then run ``script``
    as the ``aws`` on PATH would run (or ``exec`` it, where the zygote could not match it)."""
    for target, fd in enumerate(request.fds):
        os.dup2(fd, target)
        os.close(fd)
    os.chdir(request.cwd)
    os.umask(request.umask)
    for sig in request.ignored:
        signal.signal(sig, signal.SIG_IGN)
    os.environb.clear()
    os.environb.update(request.env)
    env = dict(os.environ)
    argv = [script, *request.args]
    differs = footprint.read_everything or any(
        env.get(key) != value for key, value in footprint.read.items() if key not in REDERIVED)
    try:
        locale.setlocale(locale.LC_CTYPE, "")  # what the interpreter does at start-up, with the caller's locale
        utf8 = locale.nl_langinfo(locale.CODESET).lower().replace("-", "") == "utf8" \
            and locale.setlocale(locale.LC_CTYPE) not in ("C", "POSIX")
    except locale.Error:
        utf8 = False
    if differs or not utf8:
        os.execv(interpreter, [interpreter, *argv])
    os.environ["AWS_DATA_PATH"] = aws_data_path(env)
    for rebase, new in rebases:
        rebase.to(new(env))
    time.tzset()
    sys.stdin = sys.__stdin__ = standard_stream(0, False, "strict")  # type: ignore[misc]
    sys.stdout = sys.__stdout__ = standard_stream(1, True, "strict")  # type: ignore[misc]
    sys.stderr = sys.__stderr__ = standard_stream(2, True, "backslashreplace")  # type: ignore[misc]
    sys.argv, sys.orig_argv = argv, [interpreter, *argv]
    os._exit(run_as_main(script))


def run_as_main(script: str) -> int:
    """Run ``script`` as ``__main__`` and end as the interpreter ends a script; the exit code.

    The interpreter's own finalisation would also tear down every module, touching (and so
    copying) most of the memory the child shares with the zygote, which costs more CPU than the
    command; it has nothing to show for it, so it is left out. What is seen is kept, in
    CPython's order: the ``SystemExit`` code (a message printed, exit 1), a traceback for any
    other exception, a ``KeyboardInterrupt`` ending the process by ``SIGINT``, then waiting
    for threads, ``atexit`` functions, and flushing stdout and stderr (exit 120 if that fails).
    """
    import atexit
    import runpy
    import threading

    interrupted = False
    try:
        runpy.run_path(script, run_name="__main__")  # the aws script ends with sys.exit(main())
        code = 0
    except SystemExit as exit_:
        if exit_.code is None:
            code = 0
        elif isinstance(exit_.code, int):
            code = exit_.code
        else:
            print(exit_.code, file=sys.stderr)
            code = 1
    except BaseException as error:  # the interpreter reports every exception a script lets out
        sys.excepthook(type(error), error, error.__traceback__)
        interrupted, code = isinstance(error, KeyboardInterrupt), 1
    threading._shutdown()  # type: ignore[attr-defined]
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            code = 120
    if interrupted:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    return code & 0xFF


def zygote_main(argv: list[str]) -> int:
    """``python aws_zygote.py AWS_SCRIPT SOCKET``: preload, say ready on stdout, serve until stdin closes."""
    script, socket_path = argv
    interpreter = sys.executable
    # As when the script runs: its (real) folder first on sys.path, not this one (which has an awscli.py).
    sys.path[0] = os.path.dirname(os.path.realpath(script))
    home, cwd = os.path.expanduser("~"), os.getcwd()
    footprint = ImportFootprint()
    with footprint.recording():
        try:
            for name in PRELOAD:
                __import__(name)
        except ImportError as error:
            print(f"aws_zygote: {interpreter} cannot import {name}: {error}", file=sys.stderr)
            return CANNOT_IMPORT
    if footprint.written - {"AWS_DATA_PATH"}:
        print(f"aws_zygote: importing the CLI set {sorted(footprint.written)}: no zygote", file=sys.stderr)
        return CANNOT_IMPORT
    rebases = [(Rebase.find(home), lambda env: os.path.expanduser("~")),
               (Rebase.find(cwd), lambda env: os.getcwd())]
    # fd 0 is the test process's pipe: when it closes, the zygote ends. Children get the callers' fd 0.
    watched = os.dup(0)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    zygote = Zygote(socket_path, watched, ParsedData.install())
    sys.stdout.buffer.write(READY)
    sys.stdout.flush()
    os.dup2(null, 1)
    os.close(null)
    request = zygote.serve()
    if request is None:
        return 0
    become(request, script, interpreter, footprint, rebases)
    return 0  # not reached: become ends the process


# --- the test side (the tests' interpreter) ---------------------------------------------------------------------


def interpreter_of(script: Path) -> str | None:
    """The Python that runs ``script`` (its ``#!`` line, or pip's ``'''exec'`` line), or None for a binary."""
    try:
        head = script.read_bytes()[:4096].decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    if not head.startswith("#!"):
        return None
    words = shlex.split(head.splitlines()[0][2:])
    if words and Path(words[0]).name in ("sh", "bash") and (pip := PIP_SH_SHEBANG.search(head)):
        words = shlex.split(pip.group(1))
    if len(words) == 2 and Path(words[0]).name == "env":
        words = [shutil.which(words[1]) or words[1]]
    if len(words) != 1 or not Path(words[0]).name.startswith("python"):
        return None  # flags on the #! line, or not Python: run it as it is
    return words[0]


@dataclass
class Running:
    """A started zygote: its process, folder, and the folder whose ``aws`` is its client."""

    process: subprocess.Popen[bytes]
    folder: Path
    bin: Path
    socket: Path

    def stop(self) -> None:
        """End the zygote (closing its pipe ends it; commands under way finish) and remove its folder."""
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


#: One entry per ``aws`` asked for in this process: its zygote, or None where it runs directly.
_started: dict[Path, Running | None] = {}


def start(script: Path) -> Running | None:
    """Start a zygote for ``script``; None if its interpreter cannot import the CLI (AWS CLI v2)."""
    interpreter = interpreter_of(script)
    if interpreter is None:
        return None
    folder = Path(tempfile.mkdtemp(prefix="aws-zygote-"))
    home, cwd, bin_ = folder / "home", folder / "cwd", folder / "bin"
    for path in (home, cwd, bin_):
        path.mkdir()
    sock = folder / "aws.sock"
    log = (folder / "zygote.log").open("wb")
    env = {"PATH": os.environ.get("PATH", os.defpath), "HOME": str(home), "LANG": "C.UTF-8"}
    process = subprocess.Popen([interpreter, __file__, str(script), str(sock)], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=log, cwd=cwd, env=env, start_new_session=True)
    log.close()
    assert process.stdout is not None
    said = process.stdout.readline()
    process.stdout.close()
    if said != READY:
        code = process.wait(timeout=30)
        message = (folder / "zygote.log").read_text(encoding="utf-8", errors="replace").strip()
        shutil.rmtree(folder, ignore_errors=True)
        if code == CANNOT_IMPORT:
            return None
        raise RuntimeError(f"the AWS CLI zygote for {script} exited {code} before it was ready: {message}")
    client = bin_ / "aws"
    client.write_text("#!/bin/sh\n"
                      f"exec {shlex.quote(interpreter)} -I -S {shlex.quote(str(CLIENT))} "
                      f"{shlex.quote(str(sock))} {shlex.quote(str(script))} \"$@\"\n", encoding="utf-8")
    client.chmod(0o755)
    return Running(process, folder, bin_, sock)


def zygote_for(script: Path) -> Running | None:
    """This process's zygote for ``script``, started on first use; None where none can run it."""
    script = Path(os.path.abspath(script))
    if script not in _started:
        _started[script] = start(script)
    running = _started[script]
    if running is not None and running.process.poll() is not None:
        raise RuntimeError(f"the AWS CLI zygote for {script} has exited ({running.process.returncode}); see "
                           f"{running.folder / 'zygote.log'}")
    return running


def path_for(script: Path) -> Path:
    """The folder to put first on PATH so that ``aws`` is ``script``: its zygote's client, or
    ``script``'s own folder where no zygote can run it."""
    running = zygote_for(script)
    return running.bin if running is not None else Path(os.path.abspath(script)).parent


def stop() -> None:
    """End every zygote ``path_for`` started in this process."""
    for running in _started.values():
        if running is not None:
            running.stop()
    _started.clear()


if __name__ == "__main__":
    sys.exit(zygote_main(sys.argv[1:]))
