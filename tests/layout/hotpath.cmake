# VirtualProtect's path (the win32 layer, the argument copies, the lock, the index, the
# region's runs) lies in one place, a few code pages at most: the functions are marked
# WM_HOT (src/vm/vm.h) and the compiler puts them in .text.hot, which the linker gathers.
# Spread over the library they cost 70-80 ns a call in cache and TLB misses right after the
# kernel's mprotect (bench/README.md, protect_1page).  Only an optimised build places them
# (-freorder-functions, on from -O2 and at -Os).  Run as:
#   cmake -DNM=<nm> -DLIB=<libwinmem.so> -P hotpath.cmake
set(path VirtualProtect NtProtectVirtualMemory wm_signal_init wm_vmstate_args_in wm_os_copy
         wm_os_copy_8 wm_vmstate_wrlock wm_vmstate_wrunlock wm_region_walk wm_region_protect
         wm_os_protect wm_vmstate_busy_settle_locked)
set(max_span 16384)

execute_process(COMMAND ${NM} --defined-only --format=posix ${LIB}
                OUTPUT_VARIABLE nm_out RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${NM} failed on ${LIB}")
endif()
string(REGEX MATCHALL "[^\n]+" lines "${nm_out}")
set(lo "")
set(hi "")
set(where "")
foreach(fn ${path})
  set(found FALSE)
  foreach(l ${lines})
    # The function itself or a copy the optimiser made of it (fn.constprop.0, fn.localalias).
    if(l MATCHES "^${fn}(\\.[A-Za-z0-9_.]+)? [Tt] ([0-9a-f]+)( ([0-9a-f]+))?$")
      math(EXPR a "0x${CMAKE_MATCH_2}" OUTPUT_FORMAT DECIMAL)
      set(n 1)
      if(CMAKE_MATCH_4)
        math(EXPR n "0x${CMAKE_MATCH_4}" OUTPUT_FORMAT DECIMAL)
      endif()
      math(EXPR e "${a} + ${n}")
      if(lo STREQUAL "" OR a LESS lo)
        set(lo ${a})
      endif()
      if(hi STREQUAL "" OR e GREATER hi)
        set(hi ${e})
      endif()
      string(APPEND where "  ${CMAKE_MATCH_2} ${fn}${CMAKE_MATCH_1}\n")
      set(found TRUE)
    endif()
  endforeach()
  if(NOT found)
    message(FATAL_ERROR "${fn} not found in ${LIB}'s symbols (stripped?)")
  endif()
endforeach()
math(EXPR span "${hi} - ${lo}")
if(span GREATER max_span)
  message(FATAL_ERROR "VirtualProtect's path spans ${span} bytes of code, more than "
                      "${max_span}:\n${where}")
endif()
message(STATUS "VirtualProtect's path spans ${span} bytes of code")
