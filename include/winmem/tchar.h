/*
 * tchar.h - the C runtime's generic-text mappings: _T() and _TCHAR, and the _tcs* / _t*
 * names of the string and stdio functions, mapped to their char versions (the "SBCS"
 * mapping) unless _UNICODE is defined.
 *
 * With _UNICODE, _TCHAR is WCHAR (16-bit, u"..." literals) and _T() makes u"..." literals,
 * but the function names are left unmapped: Linux's wide C functions take 32-bit wchar_t,
 * not WCHAR, so mapping _tcslen to wcslen would compile and compute nonsense.  A program
 * that calls them with _UNICODE gets an undeclared-identifier error at the call instead.
 */
#ifndef WINMEM_TCHAR_H
#define WINMEM_TCHAR_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "windef.h"

#if defined(_UNICODE) || defined(UNICODE)

typedef WCHAR _TCHAR, _TSCHAR, _TUCHAR, _TXCHAR;
typedef uint32_t _TINT;
#define __T(x) u##x
#define _TEOF 0xffffu

#else

typedef char _TCHAR;
typedef signed char _TSCHAR;
typedef unsigned char _TUCHAR, _TXCHAR;
typedef int _TINT;
#define __T(x) x
#define _TEOF EOF

#define _tmain main
#define _tcslen strlen
#define _tcsnlen strnlen
#define _tcscpy strcpy
#define _tcsncpy strncpy
#define _tcscat strcat
#define _tcsncat strncat
#define _tcscmp strcmp
#define _tcsncmp strncmp
#define _tcsicmp strcasecmp
#define _tcsnicmp strncasecmp
#define _tcschr strchr
#define _tcsrchr strrchr
#define _tcsstr strstr
#define _tcsdup strdup
#define _tcstok strtok
#define _tcsspn strspn
#define _tcscspn strcspn
#define _tcspbrk strpbrk
#define _tcstol strtol
#define _tcstoul strtoul
#define _tcstoll strtoll
#define _tcstoull strtoull
#define _tcstod strtod
#define _ttoi atoi
#define _ttol atol
#define _tstoi atoi
#define _tstol atol
#define _tgetenv getenv
#define _tfopen fopen
#define _tprintf printf
#define _ftprintf fprintf
#define _stprintf sprintf
#define _sntprintf snprintf
#define _vtprintf vprintf
#define _vftprintf vfprintf
#define _vstprintf vsprintf
#define _vsntprintf vsnprintf
#define _tscanf scanf
#define _ftscanf fscanf
#define _stscanf sscanf
#define _fgetts fgets
#define _fputts fputs
#define _puttchar putchar
#define _gettchar getchar
#define _fgettc fgetc
#define _fputtc fputc

#endif

#define _T(x) __T(x)
#define _TEXT(x) __T(x)

#endif
