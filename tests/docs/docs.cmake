# docs.cmake - compile and run every runnable example of one reference page, so the pages under
# docs/reference/ never show code that warns, fails or no longer describes what winmem does.
# Run with cmake -P:
#   PAGE    path of the page (docs/reference/<name>.md)   CC    the C compiler
#   CFLAGS  compile flags (one string)                     LIBS  link flags (one string)
#   OUTDIR  where the extracted sources and programs go
# A runnable example is a fenced block whose info string is "c runnable" (```c runnable): a
# whole program that exits 0 when winmem behaves as the page says.  Other ```c blocks are
# fragments and are not compiled.  Each example is built with -Wall -Wextra -Werror (a #line
# directive points the compiler's messages at the page's own lines) and run with a 60 s
# limit; a page with no runnable example fails, since every reference page must have one.
cmake_minimum_required(VERSION 3.16)
foreach(v PAGE CC OUTDIR)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "docs.cmake: -D${v}=... is required")
  endif()
endforeach()

get_filename_component(stem ${PAGE} NAME_WE)
file(MAKE_DIRECTORY ${OUTDIR})
separate_arguments(cflags UNIX_COMMAND "${CFLAGS}")
separate_arguments(libs UNIX_COMMAND "${LIBS}")

# Whole-file string operations: a CMake list would split C lines at their semicolons.
file(READ ${PAGE} text)
set(fence "\n```c runnable\n")
set(n 0)
set(consumed 0) # characters of the page before `rest`
set(rest "${text}")
set(done FALSE)
while(NOT done)
  string(FIND "${rest}" "${fence}" at)
  if(at EQUAL -1)
    break()
  endif()
  math(EXPR n "${n} + 1")
  math(EXPR body_at "${at} + 15") # length of the fence with its two newlines
  string(SUBSTRING "${rest}" 0 ${body_at} before)
  string(SUBSTRING "${rest}" ${body_at} -1 rest)
  string(FIND "${rest}" "\n```" stop)
  if(stop EQUAL -1)
    message(FATAL_ERROR "${PAGE}: runnable example ${n} is not closed")
  endif()
  math(EXPR stop "${stop} + 1")
  string(SUBSTRING "${rest}" 0 ${stop} code)
  string(SUBSTRING "${rest}" ${stop} -1 rest)
  # The example's first line, counted from 1 over the whole page.
  string(REGEX MATCHALL "\n" newlines "${before}")
  list(LENGTH newlines lines_before)
  math(EXPR consumed "${consumed} + ${lines_before}")
  math(EXPR first "${consumed} + 1")
  string(REGEX MATCHALL "\n" newlines "${code}")
  list(LENGTH newlines lines_code)
  math(EXPR consumed "${consumed} + ${lines_code}")

  set(src ${OUTDIR}/${stem}_${n}.c)
  set(prog ${OUTDIR}/${stem}_${n})
  file(WRITE ${src} "#line ${first} \"${PAGE}\"\n${code}")
  execute_process(COMMAND ${CC} -Wall -Wextra -Werror ${cflags} ${src} ${libs} -o ${prog}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${PAGE}: example ${n} (line ${first}) does not compile cleanly:\n${out}")
  endif()
  execute_process(COMMAND ${prog} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err
                  TIMEOUT 60)
  message(STATUS "${stem} example ${n} (line ${first}) printed:\n${out}${err}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${PAGE}: example ${n} (line ${first}) exited with ${rc}")
  endif()
endwhile()
if(n EQUAL 0)
  message(FATAL_ERROR "${PAGE}: no runnable example (a ```c runnable block)")
endif()
message(STATUS "${PAGE}: ${n} runnable example(s) built and passed")
