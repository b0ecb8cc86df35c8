# readme.cmake - compile and run the C example in README.md exactly as a reader would, so the
# README never shows code that warns or fails.  Run with cmake -P:
#   README  path of README.md           CC    the C compiler
#   CFLAGS  compile flags (one string)  LIBS  link flags (one string)
#   OUT     path of the program to build (OUT.c is the extracted source)
# The first ```c block is the example.  A #line directive makes the compiler's messages
# point at README.md's own lines.  Fails unless the program builds with -Wall -Wextra -Werror,
# exits 0 and prints "error 487" (the last error VirtualProtect of uncommitted pages sets).
foreach(v README CC OUT)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "readme.cmake: -D${v}=... is required")
  endif()
endforeach()

# Whole-file string operations: a CMake list would split C lines at their semicolons.
file(READ ${README} text)
string(FIND "${text}" "\n```c\n" at)
if(at EQUAL -1)
  message(FATAL_ERROR "readme.cmake: no ```c block in ${README}")
endif()
string(SUBSTRING "${text}" 0 ${at} before)
math(EXPR at "${at} + 6")
string(SUBSTRING "${text}" ${at} -1 code)
string(FIND "${code}" "\n```" stop)
if(stop EQUAL -1)
  message(FATAL_ERROR "readme.cmake: the ```c block in ${README} is not closed")
endif()
math(EXPR stop "${stop} + 1")
string(SUBSTRING "${code}" 0 ${stop} code)
string(REGEX MATCHALL "\n" newlines "${before}")
list(LENGTH newlines start)
math(EXPR start "${start} + 3") # the line after the fence (lines count from 1)
file(WRITE ${OUT}.c "#line ${start} \"${README}\"\n${code}")

separate_arguments(cflags UNIX_COMMAND "${CFLAGS}")
separate_arguments(libs UNIX_COMMAND "${LIBS}")
execute_process(COMMAND ${CC} -Wall -Wextra -Werror ${cflags} ${OUT}.c ${libs} -o ${OUT}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "README.md's example does not compile cleanly with -Wall -Wextra -Werror:\n${out}")
endif()
# The example reserves 1 TiB: under ulimit -v (RLIMIT_AS) below that it cannot, and says so by
# exiting 1; it is then only built.
execute_process(COMMAND sh -c "ulimit -v" OUTPUT_VARIABLE limit OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT limit STREQUAL "unlimited" AND limit MATCHES "^[0-9]+$" AND limit LESS 1074790400)
  message(STATUS "README.md's example built; not run: ulimit -v is ${limit} KiB, below its 1 TiB")
  return()
endif()
execute_process(COMMAND ${OUT} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message(STATUS "README.md's example printed: ${out}${err}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "README.md's example exited with ${rc}")
endif()
if(NOT out MATCHES "error 487")
  message(FATAL_ERROR "README.md's example did not print \"error 487\"")
endif()
