/*
 * peb.c - what Windows keeps in the process environment block that winmem answers for:
 * the executable's image base (GetModuleHandle(NULL)).
 */
#include "ps.h"

#include "os/os.h"

void *wm_peb_image_base(void)
{
    return (void *)wm_os_image_base();
}
