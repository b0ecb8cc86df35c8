# The shared library's exports and GetProcAddress's tables are the same set of names: every
# function libwinmem.so exports resolves through the loader (ntdll or kernel32), and every
# name the loader knows is exported.  Run as:
#   cmake -DNM=<nm> -DLIB=<libwinmem.so> -DLIST=<unit_loader_static> -P exports.cmake
# Exported but deliberately not resolvable: the kernel-mode calls of ntddk.h (no user-mode
# DLL exports them on Windows), the C runtime's descriptor bridge of io.h, and winmem's own
# extensions (winmem_cfg.h's check, winmem_map.h's picture), in no Windows DLL, and the C
# library's mapping calls, which winmem looks at before passing them on (secured memory freed
# behind the API).
set(not_in_dlls MmSecureVirtualMemory MmUnsecureVirtualMemory _get_osfhandle _open_osfhandle
                wm_guard_check_icall wm_map_write wm_map_render wm_map_debug_text
                munmap madvise mmap mmap64 mremap)

execute_process(COMMAND ${NM} -D --defined-only --format=posix ${LIB}
                OUTPUT_VARIABLE nm_out RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${NM} failed on ${LIB}")
endif()
string(REGEX MATCHALL "[^\n]+" lines "${nm_out}")
set(exported "")
foreach(l ${lines})
  if(l MATCHES "^([A-Za-z_][A-Za-z0-9_]*) [TW] ")
    list(APPEND exported ${CMAKE_MATCH_1})
  endif()
endforeach()
list(REMOVE_ITEM exported ${not_in_dlls})

execute_process(COMMAND ${LIST} --list OUTPUT_VARIABLE list_out RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${LIST} --list failed")
endif()
string(REGEX MATCHALL "[^\n]+" known "${list_out}")

set(missing ${exported})
list(REMOVE_ITEM missing ${known})
set(extra ${known})
list(REMOVE_ITEM extra ${exported})
list(LENGTH exported n)
if(missing OR extra)
  message(FATAL_ERROR "exported but not found by GetProcAddress: ${missing}\n"
                      "found by GetProcAddress but not exported: ${extra}")
endif()
message(STATUS "all ${n} exported functions resolve through GetProcAddress")
