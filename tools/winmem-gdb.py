# winmem-gdb.py - gdb commands that show what winmem knows about the address space of the
# program being debugged (docs/debugging.md):
#
#   winmem region ADDR   the allocation holding ADDR: base, size, type, AllocationProtect,
#                        the run of pages holding ADDR (state, protection, guard), a view's
#                        section and file, a heap's region, secured ranges, written pages;
#                        or the kernel's mapping there when winmem did not make it
#   winmem map           a summary by type (image, mapped file, heap, private data, stack,
#                        ...) with sizes, then winmem's allocations one a line
#   winmem dump FILE     save the text dump, for winmem-map FILE OUT.html
#
# Load it with "source /usr/local/share/winmem/winmem-gdb.py" (or the path in the source
# tree, tools/winmem-gdb.py).  Every command calls wm_map_debug_text() in the program
# (winmem_map.h), which waits for no lock and calls no malloc, so it is safe wherever the
# program stopped, at a SIGSEGV included.  The call runs with "unwindonsignal on", so a fault
# inside it leaves the program as it was.

import gdb

CATS = [
    ("image", "Image"),
    ("mapped", "Mapped File"),
    ("shareable", "Shareable"),
    ("heap", "Heap"),
    ("private", "Private Data"),
    ("stack", "Stack"),
    ("brk", "malloc (brk)"),
    ("foreign", "Private, not winmem's"),
    ("system", "System"),
    ("free", "Free"),
]


def size_text(n):
    units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
    v, u = float(n), 0
    while v >= 1024 and u < len(units) - 1:
        v /= 1024
        u += 1
    if u == 0 or v >= 100 or v == int(v):
        return "%d %s" % (v, units[u])
    return "%.1f %s" % (v, units[u])


def unescape(field):
    if field == "-":
        return ""
    out, i = [], 0
    while i < len(field):
        if field[i] == "%" and i + 2 < len(field):
            out.append(chr(int(field[i + 1:i + 3], 16)))
            i += 3
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def read_dump():
    """The text dump from the program, through wm_map_debug_text()."""
    try:
        old = gdb.parameter("unwindonsignal")
    except RuntimeError:
        old = False
    gdb.execute("set unwindonsignal on", to_string=True)
    try:
        value = gdb.parse_and_eval("((const char *(*)(void))wm_map_debug_text)()")
    except gdb.error as e:
        raise gdb.GdbError("winmem: cannot call wm_map_debug_text (is the program running "
                           "and linked with winmem?): %s" % e)
    finally:
        gdb.execute("set unwindonsignal %s" % ("on" if old else "off"), to_string=True)
    addr = int(value)
    if addr == 0:
        raise gdb.GdbError("winmem: wm_map_debug_text() returned NULL (no memory for its buffer)")
    inferior = gdb.selected_inferior()
    chunks, off = [], 0
    while True:  # the buffer is a mapping of whole 64 KiB units, NUL-terminated inside
        chunk = bytes(inferior.read_memory(addr + off, 65536))
        nul = chunk.find(b"\0")
        if nul >= 0:
            chunks.append(chunk[:nul])
            break
        chunks.append(chunk)
        off += len(chunk)
    return b"".join(chunks).decode("ascii", "replace")


class Dump:
    def __init__(self, text):
        self.text = text
        self.allocs, self.runs, self.views, self.written = [], [], {}, []
        self.secured, self.heaps, self.hsegs, self.foreign, self.notes = [], [], [], [], []
        self.process = ""
        self.user = (0x10000, 0x7fffffffefff + 1)
        for line in text.splitlines():
            f = line.split(" ")
            k = f[0]
            try:
                if k == "process":
                    self.process = line
                    if "user" in f:
                        i = f.index("user")
                        self.user = (int(f[i + 1], 16), int(f[i + 2], 16) + 1)
                elif k == "note":
                    self.notes.append(line[5:])
                elif k == "alloc":
                    self.allocs.append(dict(base=int(f[1], 16), size=int(f[2], 16), type=f[3],
                                            aprot=f[4], flags=f[5:]))
                elif k == "run":
                    self.runs.append(dict(base=int(f[1], 16), size=int(f[2], 16), state=f[3],
                                          prot=f[4], flags=f[5:]))
                elif k == "view":
                    self.views[int(f[1], 16)] = dict(offset=int(f[3], 16), prot=f[4],
                                                     backing=f[5], name=unescape(f[6]),
                                                     path=unescape(f[7]))
                elif k == "written":
                    self.written.append((int(f[1], 16), int(f[2], 16)))
                elif k == "secured":
                    self.secured.append((int(f[1], 16), int(f[2], 16), f[3]))
                elif k == "heap":
                    self.heaps.append(dict(handle=int(f[1], 16), flags=int(f[2], 16), kind=f[3]))
                elif k == "heapseg":
                    self.hsegs.append(dict(heap=int(f[1], 16), index=int(f[2]),
                                           base=int(f[3], 16), reserve=int(f[4], 16),
                                           commit=int(f[5], 16)))
                elif k == "heaplarge":
                    self.hsegs.append(dict(heap=int(f[1], 16), index=64, base=int(f[2], 16),
                                           reserve=int(f[3], 16), commit=int(f[4], 16)))
                elif k == "foreign":
                    self.foreign.append(dict(base=int(f[1], 16), size=int(f[2], 16), perms=f[3],
                                             kind=f[4], path=unescape(f[5])))
            except (IndexError, ValueError):
                pass  # a record this helper does not know
        self.allocs.sort(key=lambda a: a["base"])
        self.runs.sort(key=lambda r: r["base"])
        self.foreign.sort(key=lambda r: r["base"])
        exec_paths = {r["path"] for r in self.foreign if len(r["perms"]) > 2 and r["perms"][2] == "x"}
        self.exec_paths = exec_paths

    def alloc_cat(self, a):
        end = a["base"] + a["size"]
        if any(a["base"] <= h["base"] < end for h in self.hsegs):
            return "heap"
        v = self.views.get(a["base"])
        if v:
            return "mapped" if v["backing"] == "file" else "shareable"
        return {"image": "image", "mapped": "mapped"}.get(a["type"], "private")

    def foreign_cat(self, r):
        k = r["kind"]
        if k in ("stack", "brk"):
            return k
        if k == "system":
            return "image" if r["path"] == "[vdso]" else "system"
        if k == "file":
            return "image" if r["path"] in self.exec_paths else "mapped"
        if k == "shared":
            return "shareable"
        return "foreign"

    def foreign_groups(self):
        """Contiguous pieces of one file or one kind of anonymous memory: one allocation."""
        groups = []
        for r in self.foreign:
            g = groups[-1] if groups else None
            if (g and g["end"] == r["base"] and g["kind"] == r["kind"] and
                    g["path"] == r["path"]):
                g["end"] = r["base"] + r["size"]
                g["pieces"].append(r)
            else:
                groups.append(dict(base=r["base"], end=r["base"] + r["size"], kind=r["kind"],
                                   path=r["path"], pieces=[r], cat=self.foreign_cat(r)))
        return groups

    def runs_of(self, a):
        end = a["base"] + a["size"]
        return [r for r in self.runs if a["base"] <= r["base"] < end]


def region(dump, addr):
    out = []
    for a in dump.allocs:
        if a["base"] <= addr < a["base"] + a["size"]:
            flags = (" [" + " ".join(a["flags"]) + "]") if a["flags"] else ""
            out.append("0x%x is in a winmem allocation (%s):" % (addr, dict(CATS)[dump.alloc_cat(a)]))
            out.append("  AllocationBase    0x%x" % a["base"])
            out.append("  allocation size   0x%x (%s)" % (a["size"], size_text(a["size"])))
            out.append("  Type              MEM_%s%s" % (a["type"].upper(), flags))
            out.append("  AllocationProtect %s" % a["aprot"])
            runs = dump.runs_of(a)
            for r in runs:
                if r["base"] <= addr < r["base"] + r["size"]:
                    state = "MEM_COMMIT" if r["state"] == "commit" else "MEM_RESERVE"
                    out.append("  BaseAddress       0x%x (the run of pages holding it)" % r["base"])
                    out.append("  RegionSize        0x%x (%s)" % (r["size"], size_text(r["size"])))
                    out.append("  State             %s" % state)
                    out.append("  Protect           %s" % r["prot"])
                    out.append("  guard page        %s" % ("yes" if "GUARD" in r["prot"] else "no"))
                    if r["flags"]:
                        out.append("  pages             %s" % " ".join(r["flags"]))
            out.append("  runs              %d in the allocation" % len(runs))
            v = dump.views.get(a["base"])
            if v:
                out.append("  view              offset 0x%x of a %s section%s%s, section protection %s" % (
                    v["offset"], v["backing"], (" named " + v["name"]) if v["name"] else "",
                    (" of file " + v["path"]) if v["path"] else "", v["prot"]))
            for h in dump.hsegs:
                if a["base"] <= h["base"] < a["base"] + a["size"]:
                    what = "large block" if h["index"] == 64 else "region %d" % h["index"]
                    out.append("  heap              0x%x, %s: %s reserved, %s committed" % (
                        h["heap"], what, size_text(h["reserve"]), size_text(h["commit"])))
            for s, n, mode in dump.secured:
                if s < a["base"] + a["size"] and a["base"] < s + n:
                    out.append("  secured           0x%x-0x%x (%s)" % (s, s + n, mode))
            w = [(s, n) for s, n in dump.written if a["base"] <= s < a["base"] + a["size"]]
            if "watched" in a["flags"]:
                out.append("  written pages     %s in %d range(s)" % (
                    size_text(sum(n for _, n in w)), len(w)))
            return out
    for g in dump.foreign_groups():
        if g["base"] <= addr < g["end"]:
            out.append("0x%x is not winmem's: %s (%s), 0x%x-0x%x" % (
                addr, dict(CATS)[g["cat"]], g["path"] or "anonymous", g["base"], g["end"]))
            for r in g["pieces"]:
                here = "  <-" if r["base"] <= addr < r["base"] + r["size"] else ""
                out.append("  0x%x %10s %s%s" % (r["base"], size_text(r["size"]), r["perms"], here))
            return out
    lo, hi = dump.user
    for a in dump.allocs:
        if a["base"] > addr:
            hi = min(hi, a["base"])
        elif a["base"] + a["size"] <= addr:
            lo = max(lo, a["base"] + a["size"])
    for r in dump.foreign:
        if r["base"] > addr:
            hi = min(hi, r["base"])
        elif r["base"] + r["size"] <= addr:
            lo = max(lo, r["base"] + r["size"])
    out.append("0x%x is free (MEM_FREE): 0x%x-0x%x, %s" % (addr, lo, hi, size_text(hi - lo)))
    return out


def summary(dump):
    rows = {k: [0, 0, 0, 0] for k, _ in CATS}  # size, committed, blocks, largest
    blocks = []
    for a in dump.allocs:
        c = sum(r["size"] for r in dump.runs_of(a) if r["state"] == "commit")
        blocks.append((a["base"], a["size"], dump.alloc_cat(a), c))
    for g in dump.foreign_groups():
        c = sum(r["size"] for r in g["pieces"] if not r["perms"].startswith("---"))
        blocks.append((g["base"], g["end"] - g["base"], g["cat"], c))
    blocks.sort()
    lo, hi = dump.user
    at, free = lo, []
    for base, size, cat, committed in blocks:  # the gaps, within the user address space
        if min(base, hi) > at:
            free.append((at, min(base, hi) - at, "free", 0))
        at = max(at, base + size)
    if hi > at:
        free.append((at, hi - at, "free", 0))
    blocks += free
    for base, size, cat, committed in blocks:
        r = rows[cat]
        r[0] += size
        r[1] += committed
        r[2] += 1
        r[3] = max(r[3], size)
    out = ["%-22s %12s %12s %12s %7s %12s" % ("Type", "Size", "Committed", "Reserved", "Blocks",
                                              "Largest")]
    for key, name in CATS:
        s, c, b, l = rows[key]
        if b:
            free = key == "free"  # neither committed nor reserved
            out.append("%-22s %12s %12s %12s %7d %12s" % (
                name, size_text(s), "-" if free else size_text(c),
                "-" if free else size_text(s - c), b, size_text(l)))
    return out


class WinmemCommand(gdb.Command):
    """winmem's view of the address space: winmem region ADDR, winmem map, winmem dump FILE."""

    def __init__(self):
        super(WinmemCommand, self).__init__("winmem", gdb.COMMAND_DATA, gdb.COMPLETE_NONE, True)


class WinmemRegion(gdb.Command):
    """winmem region ADDR: what winmem knows about the allocation holding ADDR (an expression)."""

    def __init__(self):
        super(WinmemRegion, self).__init__("winmem region", gdb.COMMAND_DATA, gdb.COMPLETE_EXPRESSION)

    def invoke(self, arg, from_tty):
        if not arg.strip():
            raise gdb.GdbError("usage: winmem region ADDR")
        addr = int(gdb.parse_and_eval("(unsigned long)(%s)" % arg))
        dump = Dump(read_dump())
        for line in region(dump, addr):
            gdb.write(line + "\n")
        for n in dump.notes:
            gdb.write("note: %s\n" % n)


class WinmemMap(gdb.Command):
    """winmem map: the address space by type with sizes, then winmem's allocations."""

    def __init__(self):
        super(WinmemMap, self).__init__("winmem map", gdb.COMMAND_DATA, gdb.COMPLETE_NONE)

    def invoke(self, arg, from_tty):
        dump = Dump(read_dump())
        gdb.write(dump.process + "\n")
        for line in summary(dump):
            gdb.write(line + "\n")
        gdb.write("\nwinmem's allocations:\n")
        gdb.write("%-18s %10s %-14s %-8s %-20s %s\n" % ("base", "size", "type", "runs", "AllocationProtect",
                                                         "notes"))
        for a in dump.allocs:
            notes = list(a["flags"])
            runs = dump.runs_of(a)
            if any("GUARD" in r["prot"] for r in runs):
                notes.append("guard")
            v = dump.views.get(a["base"])
            if v:
                notes.append("section %s" % (v["name"] or v["path"] or v["backing"]))
            if any(a["base"] <= s < a["base"] + a["size"] for s, _, _ in dump.secured):
                notes.append("secured")
            gdb.write("0x%-16x %10s %-14s %-8d %-20s %s\n" % (
                a["base"], size_text(a["size"]), dict(CATS)[dump.alloc_cat(a)], len(runs),
                a["aprot"], " ".join(notes)))
        gdb.write("%d heaps, %d secured ranges, %d kernel mappings not winmem's\n" % (
            len(dump.heaps), len(dump.secured), len(dump.foreign)))
        for n in dump.notes:
            gdb.write("note: %s\n" % n)


class WinmemDump(gdb.Command):
    """winmem dump FILE: save the text dump (draw it with: winmem-map FILE OUT.html)."""

    def __init__(self):
        super(WinmemDump, self).__init__("winmem dump", gdb.COMMAND_DATA, gdb.COMPLETE_FILENAME)

    def invoke(self, arg, from_tty):
        if not arg.strip():
            raise gdb.GdbError("usage: winmem dump FILE")
        text = read_dump()
        with open(arg.strip(), "w") as f:
            f.write(text)
        gdb.write("winmem: %d bytes written to %s\n" % (len(text), arg.strip()))


WinmemCommand()
WinmemRegion()
WinmemMap()
WinmemDump()
