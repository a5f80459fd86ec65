"""pty_eof.py TEXT CMD...: runs CMD with a terminal as its standard input,
types TEXT (backslash escapes allowed), then one Ctrl-D. Prints what CMD
wrote; exits 0 if CMD ended within 20 s, 1 if a second Ctrl-D was needed."""
import os
import pty
import subprocess
import sys
import time

text, cmd = sys.argv[1].encode().decode('unicode_escape'), sys.argv[2:]
master, slave = pty.openpty()
p = subprocess.Popen(cmd, stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
os.close(slave)
time.sleep(0.5)
os.write(master, text.encode())
time.sleep(0.5)
os.write(master, b'\x04')
try:
    out, _ = p.communicate(timeout=20)
    sys.stdout.write(out.decode())
    sys.exit(0)
except subprocess.TimeoutExpired:
    os.write(master, b'\x04')
    out, _ = p.communicate(timeout=20)
    sys.stdout.write(out.decode())
    print("needed a second EOF")
    sys.exit(1)
