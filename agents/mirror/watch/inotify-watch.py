#!/usr/bin/env python3
"""paceline:mirror's change watcher: inotify on a directory tree, recursively, as one long-running
process that streams what it sees on stdout, one NUL-terminated record each:

    !ready                      every directory present at start is watched
    MASK RELPATH                an event (MASK in hex, RELPATH relative to the root, '' = the root)
    !lost REASON                events may have been lost (queue overflow, watch limit, root gone):
                                the reader must not trust anything it has not re-read
    !stopped MS                 (on SIGTERM, the last record) as !tick, then the watcher exits
    !tick MS                    the kernel's queue was empty at MS (ms since the epoch): every
                                change completed before then has been printed above. Sent when
                                idle (four times a second) and after a burst (at most every 100 ms)

Why not inotifywait: it drops IN_Q_OVERFLOW silently (events are then lost without a word), and its
paths go stale when a watched directory is renamed. This is the standard library only (ctypes):
directories created or moved in are watched before their event is printed, so the reader can walk
them and miss nothing; a directory moved out loses its watches."""
import ctypes
import fcntl
import os
import select
import signal
import struct
import sys
import termios
import time

IN_MODIFY, IN_ATTRIB, IN_CLOSE_WRITE = 0x2, 0x4, 0x8
IN_MOVED_FROM, IN_MOVED_TO, IN_CREATE, IN_DELETE = 0x40, 0x80, 0x100, 0x200
IN_DELETE_SELF, IN_MOVE_SELF = 0x400, 0x800
IN_UNMOUNT, IN_Q_OVERFLOW, IN_IGNORED = 0x2000, 0x4000, 0x8000
IN_ONLYDIR, IN_DONT_FOLLOW, IN_EXCL_UNLINK, IN_ISDIR = 0x01000000, 0x02000000, 0x04000000, 0x40000000
MASK = (IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE | IN_DELETE
        | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_DONT_FOLLOW | IN_EXCL_UNLINK)
HEADER = struct.Struct('iIII')

libc = ctypes.CDLL(None, use_errno=True)
out = sys.stdout.buffer
root = os.fsencode(sys.argv[1]).rstrip(b'/') or b'/'
# --leaves: the filesystem keeps directory link counts (the tracker checked its type): a directory
# whose count is 2 has no subdirectory, so its files are not listed (a stat per directory, not a
# listing of every file, to watch a spool of millions).
leaves = '--leaves' in sys.argv[2:]
root_dev = os.lstat(root).st_dev
fd = libc.inotify_init1(os.O_CLOEXEC)
if fd < 0:
    sys.stderr.write('inotify_init1: %s\n' % os.strerror(ctypes.get_errno()))
    sys.exit(2)
paths = {}  # wd -> relative path (bytes)


def lost(reason):
    out.write(b'!lost ' + reason.encode() + b'\0')
    out.flush()


def add(rel):
    """Watches rel and every directory below it. False when the watch limit is reached."""
    stack = [rel]
    while stack:
        r = stack.pop()
        full = root + b'/' + r if r else root
        wd = libc.inotify_add_watch(fd, full, MASK)
        if wd < 0:
            err = ctypes.get_errno()
            if err in (2, 20):  # ENOENT, ENOTDIR: gone again
                continue
            lost('cannot watch %s: %s (fs.inotify.max_user_watches?)' % (os.fsdecode(full), os.strerror(err)))
            return False
        paths[wd] = r
        try:
            if leaves:
                # After the watch exists: a subdirectory created from now on is an event.
                st = os.lstat(full)
                if st.st_nlink == 2 and st.st_dev == root_dev:
                    continue
            with os.scandir(full) as it:
                for e in it:
                    if e.is_dir(follow_symlinks=False):
                        stack.append(r + b'/' + e.name if r else e.name)
        except (FileNotFoundError, NotADirectoryError):
            pass
    return True


def forget(rel):
    prefix = rel + b'/'
    for wd, r in list(paths.items()):
        if r == rel or r.startswith(prefix):
            libc.inotify_rm_watch(fd, wd)
            del paths[wd]


last_tick = 0.0


def tick():
    """Prints !tick when nothing is queued: the time is taken before looking, so every event of a
    change completed before it has been read and printed."""
    global last_tick
    now = time.time()
    if select.select([fd], [], [], 0)[0]:
        return
    out.write(b'!tick %d\0' % int(now * 1000))
    last_tick = now


def process(buf):
    """Prints the events of one read."""
    i = 0
    while i < len(buf):
        wd, mask, _cookie, n = HEADER.unpack_from(buf, i)
        name = buf[i + HEADER.size:i + HEADER.size + n].rstrip(b'\0')
        i += HEADER.size + n
        if mask & IN_Q_OVERFLOW:
            lost('inotify queue overflow (fs.inotify.max_queued_events)')
            continue
        if mask & IN_IGNORED:
            paths.pop(wd, None)
            continue
        base = paths.get(wd)
        if base is None:
            continue
        rel = (base + b'/' + name if base else name) if name else base
        if mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT) and rel == b'':
            lost('the watched directory itself was removed, moved or unmounted')
            sys.exit(4)
        if mask & IN_ISDIR and mask & (IN_CREATE | IN_MOVED_TO):
            if not add(rel):
                sys.exit(3)
        elif mask & IN_ISDIR and mask & IN_MOVED_FROM:
            forget(rel)
        if mask & (IN_DELETE_SELF | IN_MOVE_SELF):
            continue  # reported by the parent's DELETE / MOVED_FROM
        out.write(b'%x ' % mask + rel + b'\0')


# SIGTERM (the tracker stopping, or the agent stopping the tracker's process group): print what is
# queued, then "!stopped MS" — every change completed before MS has been printed — and exit. The
# handler only sets a flag; the wakeup pipe interrupts the wait.
stopping = False
wake_r, wake_w = os.pipe()
os.set_blocking(wake_w, False)
signal.set_wakeup_fd(wake_w)


def on_term(_signum, _frame):
    global stopping
    stopping = True


signal.signal(signal.SIGTERM, on_term)
if not add(b''):
    sys.exit(3)
out.write(b'!ready\0')
tick()
out.flush()
while not stopping:
    ready = select.select([fd, wake_r], [], [], 0.25)[0]
    if wake_r in ready:
        os.read(wake_r, 512)
    if fd not in ready:
        tick()
        out.flush()
        continue
    try:
        buf = os.read(fd, 1 << 20)
    except InterruptedError:
        continue
    if not buf:
        break
    process(buf)
    if time.time() - last_tick >= 0.1:
        tick()
    out.flush()
if stopping:
    # What is queued now holds every change completed before `now`: read that much (FIONREAD), not
    # until the queue is empty — a busy copy (a sync writing) would never let it be.
    now = time.time()
    queued = bytearray(4)
    fcntl.ioctl(fd, termios.FIONREAD, queued)
    left = struct.unpack('i', queued)[0]
    while left > 0:
        buf = os.read(fd, max(left, 1 << 16))
        if not buf:
            break
        process(buf)
        left -= len(buf)
    out.write(b'!stopped %d\0' % int(now * 1000))
    out.flush()
