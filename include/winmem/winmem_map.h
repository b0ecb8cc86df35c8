/*
 * winmem_map.h - winmem's extension for looking at the address space: a picture of every
 * reservation and run, guard page, write-watched page, secured range, view (with its section
 * and file), heap region and the memory winmem did not map (stacks, libraries, malloc), in
 * the manner of Sysinternals VMMap.  Not an SDK header: Windows has no such call.
 *
 * The picture is one self-contained HTML file (inline SVG and a little script for zooming,
 * nothing fetched): a summary table by type with sizes, a map, and a table of allocations.
 * The same information as text, one record a line (the format docs/debugging.md describes),
 * can be saved and drawn later, by wm_map_render or the winmem-map tool.  Setting
 * WINMEM_MAP=<file> in the environment writes the picture when the process exits.
 */
#ifndef WINMEM_MAP_H
#define WINMEM_MAP_H

#include "windef.h"
#include "winmem_export.h"

WINMEM_EXTERN_C_BEGIN

#define WM_MAP_HTML 0 /* the picture */
#define WM_MAP_TEXT 1 /* the text dump it is drawn from */

/* Write the address space as it is now to path (created or truncated), as format says.
 * FALSE with the last error set: ERROR_INVALID_PARAMETER for a NULL path or an unknown
 * format, ERROR_NOT_ENOUGH_MEMORY, or the error opening or writing the file. */
WINMEM_API BOOL WINAPI wm_map_write(const char *path, DWORD format);

/* Draw a saved text dump (text_path) as the picture (html_path).  FALSE with the last error
 * set; ERROR_INVALID_PARAMETER when text_path holds no dump. */
WINMEM_API BOOL WINAPI wm_map_render(const char *text_path, const char *html_path);

/* For debuggers: the text dump, in a buffer of the library's own that the next call
 * replaces.  Safe to call from gdb while the process is stopped anywhere, at a SIGSEGV
 * included: it waits for no lock and calls no malloc (what another thread was changing at
 * that moment may be shown inexactly, and the dump says so).  NULL when no memory could be
 * mapped for the buffer. */
WINMEM_API const char *WINAPI wm_map_debug_text(void);

WINMEM_EXTERN_C_END

#endif
