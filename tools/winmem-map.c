/*
 * winmem-map - draw a saved text dump of a winmem process's address space as the HTML
 * picture (winmem_map.h; the dump comes from wm_map_write(path, WM_MAP_TEXT), from
 * WINMEM_MAP=<file>.txt, or from gdb's "winmem dump").
 *
 *   winmem-map DUMP.txt OUT.html
 */
#include <windows.h>
#include <winmem_map.h>

#include <stdio.h>

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s DUMP.txt OUT.html\n", argc ? argv[0] : "winmem-map");
        return 2;
    }
    if (!wm_map_render(argv[1], argv[2])) {
        DWORD e = GetLastError();
        fprintf(stderr, "winmem-map: %s: %s (error %lu)\n", argv[1],
                e == ERROR_INVALID_PARAMETER ? "not a winmem map dump"
                                             : "cannot be read or written",
                (unsigned long)e);
        return 1;
    }
    return 0;
}
