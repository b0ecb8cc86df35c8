/*
 * image.c - where the executable is mapped: the address GetModuleHandle(NULL) gives, as
 * Windows gives the image base of the .exe.
 */
#include "os.h"

#include <link.h>

static int first_object(struct dl_phdr_info *info, size_t size, void *ctx)
{
    uintptr_t lo = UINTPTR_MAX;

    (void)size;
    /* The first object is the executable; its lowest loaded segment is where it starts. */
    for (int i = 0; i < info->dlpi_phnum; i++)
        if (info->dlpi_phdr[i].p_type == PT_LOAD && info->dlpi_phdr[i].p_vaddr < lo)
            lo = info->dlpi_phdr[i].p_vaddr;
    *(uintptr_t *)ctx = lo == UINTPTR_MAX ? 0 : info->dlpi_addr + (lo & ~(uintptr_t)4095);
    return 1;
}

uintptr_t wm_os_image_base(void)
{
    static uintptr_t base;
    uintptr_t b = __atomic_load_n(&base, __ATOMIC_RELAXED);
    if (!b) {
        dl_iterate_phdr(first_object, &b);
        __atomic_store_n(&base, b, __ATOMIC_RELAXED);
    }
    return b;
}
