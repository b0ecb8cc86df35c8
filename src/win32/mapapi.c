/*
 * mapapi.c - winmem_map.h's calls: the address-space picture (src/dbg/ draws it) with the
 * last error set the Win32 way.
 */
#include "win32.h"

#include "dbg/dbg.h"
#include "winmem_map.h"

/* wm_map_write: the picture (or its text dump) of the address space as it is now. */
WINMEM_API BOOL WINAPI wm_map_write(const char *path, DWORD format)
{
    return wm_win32_status(wm_mapout_write(path, format));
}

/* wm_map_render: a saved text dump drawn as the picture. */
WINMEM_API BOOL WINAPI wm_map_render(const char *text_path, const char *html_path)
{
    return wm_win32_status(wm_mapout_render(text_path, html_path));
}

/* wm_map_debug_text: the dump for a debugger; no lock waited for, no malloc. */
WINMEM_API const char *WINAPI wm_map_debug_text(void)
{
    return wm_mapout_debug();
}
