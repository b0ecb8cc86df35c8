/*
 * windows.h - the umbrella header a ported Windows program includes unchanged.
 * Build with $(pkg-config --cflags --libs winmem) so this directory is on the include path.
 */
#ifndef WINMEM_WINDOWS_H
#define WINMEM_WINDOWS_H

#include "winapifamily.h"
#include "windef.h"
#include "winnt.h"
#include "winerror.h"
#include "winbase.h"
#include "fibersapi.h"
#include "libloaderapi.h"
#include "profileapi.h"
#include "securitybaseapi.h"
#include "synchapi.h"

#endif
